//! Every route, walked from the router's own list (`api::route_table`, the
//! list the router is built from: a new route is walked the day it is
//! added) with malformed queries, duplicated keys, wrong content types,
//! unreadable and oversized bodies and the wrong methods. Each answer must
//! be a 4xx with the documented JSON body `{error, message}` whose code is
//! in the README's table (the unsubscribe link answers HTML pages); and the
//! README's table must list exactly the codes the API can answer.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use backend::api::error::every_error;
use backend::api::{Takes, route_table};

use crate::support::*;

/// The README's table of error codes: (status, code) per row.
fn readme_codes() -> BTreeSet<(u16, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let table = readme
        .split("<!-- error-codes -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /error-codes -->").next())
        .expect("README.md has the error-code table between its markers");
    table
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let status = cells.get(1)?.parse::<u16>().ok()?;
            Some((status, cells.get(2)?.trim_matches('`').to_owned()))
        })
        .collect()
}

fn answered_codes() -> BTreeSet<(u16, String)> {
    every_error()
        .iter()
        .map(|e| (e.status().as_u16(), e.code().to_owned()))
        .collect()
}

#[test]
fn the_readme_lists_every_error_code_the_api_answers_and_no_other() {
    let readme = readme_codes();
    let code = answered_codes();
    let undocumented: Vec<_> = code.difference(&readme).collect();
    let stale: Vec<_> = readme.difference(&code).collect();
    assert!(
        undocumented.is_empty(),
        "answered but not in README.md: {undocumented:?}"
    );
    assert!(stale.is_empty(), "in README.md but never answered: {stale:?}");
}

/// One bad request and what it is.
struct Probe {
    what: String,
    method: Method,
    uri: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    /// A route that reads no query may ignore a junk one (and a GET
    /// without a body then succeeds); any error must still be ours.
    may_succeed: bool,
}

/// The content type a route's body is meant to have.
fn own_type(takes: Takes) -> Option<&'static str> {
    match takes {
        Takes::Json => Some("application/json"),
        Takes::TwilioWebhook | Takes::UnsubscribeLink => Some("application/x-www-form-urlencoded"),
        Takes::Multipart => Some("multipart/form-data; boundary=XyZ"),
        Takes::Nothing => None,
    }
}

fn probes() -> Vec<Probe> {
    let mut probes = Vec::new();
    for route in route_table() {
        let path = route.path;
        for method in route.methods {
            let probe = |what: &str, uri: String, content_type: Option<&'static str>, body: Vec<u8>| Probe {
                what: format!("{method} {path}: {what}"),
                method: method.clone(),
                uri,
                content_type,
                body,
                may_succeed: false,
            };
            let own = own_type(route.takes);
            // queries: unreadable, duplicated keys (its own and others)
            probes.push(Probe {
                may_succeed: route.query.is_empty() && *method == Method::GET,
                ..probe(
                    "a malformed query",
                    format!("{path}?%zz=%&&=x&a=1&a=2"),
                    own,
                    b"{".to_vec(),
                )
            });
            for key in route.query {
                probes.push(probe(
                    &format!("a duplicated {key}"),
                    format!("{path}?{key}=a&{key}=b"),
                    own,
                    b"{".to_vec(),
                ));
            }
            if *method == Method::GET {
                continue;
            }
            // bodies: the wrong type, none, unreadable, not an object, too deep, too large
            probes.push(probe("text/plain", path.into(), Some("text/plain"), b"hello".to_vec()));
            probes.push(probe("no content type", path.into(), None, b"hello".to_vec()));
            probes.push(probe("a cut-off body", path.into(), own, b"{\"token\":".to_vec()));
            probes.push(probe("an array", path.into(), own, b"[1,2,3]".to_vec()));
            let deep = format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000));
            probes.push(probe("deep nesting", path.into(), own, deep.into_bytes()));
            probes.push(probe(
                "binary junk",
                path.into(),
                own,
                (0..=255u8).cycle().take(4096).collect(),
            ));
            probes.push(probe(
                "one byte over the limit",
                path.into(),
                own,
                vec![b'a'; route.max_body + 1],
            ));
        }
        // the methods it does not take
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            if !route.methods.contains(&method) {
                probes.push(Probe {
                    what: format!("{method} {path}: a method it does not take"),
                    method,
                    uri: path.into(),
                    content_type: Some("application/json"),
                    body: b"{}".to_vec(),
                    may_succeed: false,
                });
            }
        }
        probes.push(Probe {
            what: format!("{path}/extra: below a route"),
            method: route.methods[0].clone(),
            uri: format!("{path}/extra"),
            content_type: None,
            body: Vec::new(),
            may_succeed: false,
        });
    }
    probes
}

#[tokio::test]
async fn every_route_answers_every_bad_request_with_the_documented_json() {
    let (app, _key, _jwks, _standin) = twilio_app().await;
    let documented: BTreeSet<String> = readme_codes().into_iter().map(|(_, code)| code).collect();
    let table = route_table();
    let probes = probes();
    assert!(probes.len() > 100, "{} probes", probes.len());
    let mut failures = Vec::new();
    for probe in probes {
        let mut request = Request::builder().method(probe.method.clone()).uri(&probe.uri);
        if let Some(content_type) = probe.content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let answer = app.send(request.body(Body::from(probe.body)).unwrap()).await;
        let html_route = table.iter().any(|r| {
            r.takes == Takes::UnsubscribeLink
                && probe.uri.split('?').next() == Some(r.path)
                && r.methods.contains(&probe.method)
        });
        let content_type = answer
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let problem = if probe.may_succeed && answer.status.is_success() {
            None
        } else if !answer.status.is_client_error() {
            Some(format!("status {}", answer.status))
        } else if html_route {
            (!content_type.starts_with("text/html")).then(|| format!("an HTML page, not {content_type}"))
        } else if !content_type.starts_with("application/json") {
            Some(format!(
                "Content-Type {content_type:?}: {}",
                String::from_utf8_lossy(&answer.raw)
            ))
        } else {
            let object = answer.json.as_object();
            let keys: Vec<&str> = object
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let code = answer.json["error"].as_str().unwrap_or("");
            let message = answer.json["message"].as_str().unwrap_or("");
            if keys != ["error", "message"] || message.is_empty() {
                Some(format!("body {}", answer.json))
            } else if !documented.contains(code) {
                Some(format!("code {code:?} is not in the README's table"))
            } else if message.contains("%zz") || message.contains("hello") {
                Some(format!("the message echoes the input: {message}"))
            } else {
                None
            }
        };
        if let Some(problem) = problem {
            failures.push(format!("{}: {problem}", probe.what));
        }
    }
    assert!(
        failures.is_empty(),
        "{} answers off the contract:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn each_route_answers_its_known_refusals_with_the_right_status() {
    let (app, _key, _jwks, _standin) = twilio_app().await;
    // the outside tests' case: a duplicated key on the inbound route
    let answer = app
        .post_raw(
            "/v1/inbound/sendgrid?key=a&key=b",
            "multipart/form-data; boundary=XyZ",
            b"--XyZ--\r\n".to_vec(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.json["error"], "bad_request");
    assert!(
        answer.json["message"]
            .as_str()
            .unwrap()
            .contains("duplicate field `key`"),
        "{}",
        answer.json
    );
    for route in route_table().iter().filter(|r| r.takes == Takes::Json) {
        let big = app
            .post_raw(route.path, "application/json", vec![b' '; route.max_body + 1])
            .await;
        assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", route.path);
        let text = app.post_raw(route.path, "text/plain", b"{}".to_vec()).await;
        assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", route.path);
    }
}
