//! A recording HTTP proxy in front of moto: it notes each request's method
//! and path, forwards it unchanged, and answers S3's `AccessDenied` to any
//! upload whose path contains a chosen text, so a test can fail a publish
//! midway at a known file.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse as _, Response};

#[derive(Debug, Default)]
struct Shared {
    seen: Vec<(String, String)>,
    refuse_puts_containing: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Proxy {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    pub async fn start(upstream: String) -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app =
            axum::Router::new()
                .fallback(forward)
                .with_state((upstream, Arc::clone(&shared), reqwest::Client::new()));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, shared }
    }

    /// The (method, path) of every request since the last call.
    pub fn take(&self) -> Vec<(String, String)> {
        std::mem::take(&mut self.shared.lock().unwrap().seen)
    }

    /// The paths uploaded (PUT) since the last call, in order.
    pub fn take_puts(&self) -> Vec<String> {
        self.take()
            .into_iter()
            .filter(|(method, _)| method == "PUT")
            .map(|(_, path)| path)
            .collect()
    }

    /// Refuse uploads whose path contains `text` (or none).
    pub fn refuse_puts_containing(&self, text: Option<&str>) {
        self.shared.lock().unwrap().refuse_puts_containing = text.map(str::to_owned);
    }
}

type ProxyState = (String, Arc<Mutex<Shared>>, reqwest::Client);

async fn forward(
    State((upstream, shared, client)): State<ProxyState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let refused = {
        let mut shared = shared.lock().unwrap();
        shared.seen.push((method.to_string(), path.clone()));
        method == Method::PUT
            && shared
                .refuse_puts_containing
                .as_deref()
                .is_some_and(|text| path.contains(text))
    };
    if refused {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
                   <Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        return (StatusCode::FORBIDDEN, [("content-type", "application/xml")], xml).into_response();
    }
    let target = format!("{upstream}{}", uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut request = client.request(method, target).body(body);
    for (name, value) in &headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    response.body(answer.bytes().await.unwrap().into()).unwrap()
}
