//! Search of a room's history on the real `dachat serve` with the embedded
//! provider (issue #29): `GET /v1/local/search` finds a room's messages for
//! its members with their chat token, and answers no one else.

use serde_json::{Value, json};

use crate::support::{say, serve};

#[tokio::test]
async fn a_member_searches_a_room_and_no_one_else_can() {
    let server = serve("search", &[]);
    let alice = server.token("alice", None).await;
    let mut socket = server.chat(&alice).await;
    let first = say(&mut socket, "general", 1).await;
    let second = say(&mut socket, "general", 2).await;
    say(&mut socket, "shipment-1", 3).await;
    let (status, session) = server
        .post("/v1/session", json!({ "token": alice, "context": "general" }))
        .await;
    assert_eq!(status, 200);
    let access = session["accessToken"].as_str().unwrap().to_owned();
    let get = |query: String, token: Option<String>| {
        let mut request = server.http.get(format!("{}/v1/local/search?{query}", server.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let answer = request.send().await.unwrap();
            (answer.status().as_u16(), answer.json::<Value>().await.unwrap())
        }
    };
    let (status, found) = get("room=general&q=secret%20cargo".into(), Some(access.clone())).await;
    assert_eq!(status, 200, "{found}");
    let ids: Vec<i64> = found["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [second, first], "newest first, this room only");
    let (_, page) = get("room=general&q=cargo&limit=1".into(), Some(access.clone())).await;
    assert_eq!(
        (page["results"].as_array().unwrap().len(), page["hasMore"].as_bool()),
        (1, Some(true))
    );
    // no token, a room she is not in, nothing to look for
    assert_eq!(get("room=general&q=cargo".into(), None).await.0, 401);
    let (status, refused) = get("room=group-public-7&q=cargo".into(), Some(access.clone())).await;
    assert_eq!((status, refused["error"].as_str()), (403, Some("context_not_allowed")));
    let (status, refused) = get("room=general&q=%20*%20".into(), Some(access)).await;
    assert_eq!((status, refused["error"].as_str()), (400, Some("bad_request")));
}
