//! The API's routes as data: each with its path, methods, what it takes,
//! the query it reads and its body limit, beside its handler. The router is
//! built from this one list, and the route-walking test walks it.

use axum::http::Method;
use axum::routing::{get, post};

use super::{ApiState, inbound, notify};
use super::{healthz, me, moderate, published_jwks, session, token, twilio_webhook};
use crate::api::MAX_BODY_BYTES;

/// What a route takes, for the route-walking test and the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// Nothing in the body (a GET).
    Nothing,
    /// A JSON object ([`super::JsonBody`]).
    Json,
    /// Twilio's signed form (or JSON) webhook.
    TwilioWebhook,
    /// SendGrid Inbound Parse's multipart form.
    Multipart,
    /// A one-click unsubscribe link: answers HTML pages, not JSON.
    UnsubscribeLink,
}

/// One route of the API, as the router is built from it.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub path: &'static str,
    pub methods: &'static [Method],
    pub takes: Takes,
    /// The query parameters it reads.
    pub query: &'static [&'static str],
    /// The largest body it takes.
    pub max_body: usize,
}

impl Route {
    const fn new(path: &'static str, methods: &'static [Method], takes: Takes) -> Self {
        Self {
            path,
            methods,
            takes,
            query: &[],
            max_body: MAX_BODY_BYTES,
        }
    }
}

/// Every route with its handler: the one list the router is built from,
/// so [`route_table`] (which the route-walking test walks) cannot miss one.
pub(super) fn routes() -> Vec<(Route, axum::routing::MethodRouter<ApiState>)> {
    const GET: &[Method] = &[Method::GET];
    const POST: &[Method] = &[Method::POST];
    const BOTH: &[Method] = &[Method::GET, Method::POST];
    vec![
        (Route::new("/v1/session", POST, Takes::Json), post(session)),
        (Route::new("/v1/token", POST, Takes::Json), post(token)),
        (Route::new("/v1/me", GET, Takes::Nothing), get(me)),
        (Route::new("/healthz", GET, Takes::Nothing), get(healthz)),
        (
            Route::new(crate::app::TWILIO_WEBHOOK_PATH, POST, Takes::TwilioWebhook),
            post(twilio_webhook),
        ),
        (Route::new("/v1/moderation", POST, Takes::Json), post(moderate)),
        (Route::new("/v1/notifications", GET, Takes::Nothing), get(notify::state)),
        (
            Route::new("/v1/notifications/subscribe", POST, Takes::Json),
            post(notify::subscribe),
        ),
        (
            Route::new("/v1/notifications/confirm", POST, Takes::Json),
            post(notify::confirm),
        ),
        (
            Route::new("/v1/notifications/off", POST, Takes::Json),
            post(notify::off),
        ),
        (
            Route {
                query: &["key"],
                max_body: inbound::MAX_REQUEST_BYTES,
                ..Route::new("/v1/inbound/sendgrid", POST, Takes::Multipart)
            },
            post(inbound::sendgrid),
        ),
        (
            Route {
                query: &["u", "c", "s"],
                ..Route::new(crate::notify::unsubscribe_link::PATH, BOTH, Takes::UnsubscribeLink)
            },
            get(notify::unsubscribe_page).post(notify::unsubscribe_now),
        ),
        (
            Route::new("/.well-known/jwks.json", GET, Takes::Nothing),
            get(published_jwks),
        ),
    ]
}

/// Every route of [`super::router`], in order.
pub fn route_table() -> Vec<Route> {
    routes().into_iter().map(|(route, _)| route).collect()
}
