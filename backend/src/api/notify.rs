//! The notification routes (issue #14): the window's subscribe / confirm /
//! off (host token in the body, like `/v1/session`), the state (Bearer,
//! like `/v1/me`), and the one-click unsubscribe link of every digest:
//! a GET shows a page with a button and changes nothing (link scanners
//! follow GETs); a POST (RFC 8058's `List-Unsubscribe=One-Click`, or the
//! page's button) unsubscribes.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use protocol::{
    ConfirmRequest, NotificationSubscription, NotificationsResponse, NotifyState, SubscribeRequest, SubscriptionState,
    UnsubscribeRequest,
};
use serde::Deserialize;

use super::{JsonBody, Shared, bearer, no_store};
use crate::api::error::ApiError;
use crate::notify::digest_mail::escape_html;
use crate::notify::unsubscribe_link::Target;
use crate::notify::{MUTED, Subscribed};

fn state_of(subscribed: Subscribed) -> SubscriptionState {
    match subscribed {
        Subscribed::On { address } => SubscriptionState {
            state: NotifyState::On,
            address: Some(address),
        },
        Subscribed::CodeSent { address } => SubscriptionState {
            state: NotifyState::CodeSent,
            address: Some(address),
        },
    }
}

pub(super) async fn state(State(app): State<Shared>, headers: HeaderMap) -> Result<Response, ApiError> {
    let token = bearer(&headers)?;
    let (claims, subscriptions) = app.notification_state(token).await?;
    Ok(no_store(Json(NotificationsResponse {
        vouched_address: claims
            .verified_email
            .filter(|e| crate::notify::digest_mail::address(e).is_ok()),
        subscriptions: subscriptions
            .into_iter()
            .map(|s| NotificationSubscription {
                context: s.context,
                address: (s.address != MUTED).then_some(s.address),
            })
            .collect(),
    })))
}

pub(super) async fn subscribe(
    State(app): State<Shared>,
    JsonBody(body): JsonBody<SubscribeRequest>,
) -> Result<Response, ApiError> {
    let subscribed = app
        .subscribe(&body.token, body.context.as_deref(), body.address.as_deref())
        .await?;
    Ok(no_store(Json(state_of(subscribed))))
}

pub(super) async fn confirm(
    State(app): State<Shared>,
    JsonBody(body): JsonBody<ConfirmRequest>,
) -> Result<Response, ApiError> {
    let subscribed = app
        .confirm(&body.token, body.context.as_deref(), &body.address, &body.code)
        .await?;
    Ok(no_store(Json(state_of(subscribed))))
}

pub(super) async fn off(
    State(app): State<Shared>,
    JsonBody(body): JsonBody<UnsubscribeRequest>,
) -> Result<Response, ApiError> {
    app.unsubscribe(&body.token, body.context.as_deref()).await?;
    Ok(no_store(Json(SubscriptionState {
        state: NotifyState::Off,
        address: None,
    })))
}

/// A one-click link's query.
#[derive(Deserialize)]
pub(super) struct Link {
    u: Option<String>,
    c: Option<String>,
    s: Option<String>,
}

fn target(app: &Shared, link: &Link) -> Result<Target, ApiError> {
    match (&link.u, &link.c, &link.s) {
        (Some(u), Some(c), Some(s)) => Ok(app.unsubscribe_target(u, c, s)?),
        _ => Err(crate::app::AppError::BadUnsubscribeLink.into()),
    }
}

fn what(target: &Target) -> String {
    match &target.context {
        Some(room) => format!("about the room “{}”", escape_html(room)),
        None => "about any room".to_owned(),
    }
}

/// A small page of our own: no scripts, nothing from elsewhere.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem\">\
         <h1 style=\"font-size:1.4rem\">{title}</h1>{body}</body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn bad_link() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This link is not valid",
        "<p>Copy the whole link from the e-mail, or turn e-mail off in the chat window.</p>",
    )
}

/// `GET` of a one-click link: a confirmation page; nothing changes.
pub(super) async fn unsubscribe_page(State(app): State<Shared>, link: Result<Query<Link>, QueryRejection>) -> Response {
    let Some(target) = link.ok().and_then(|Query(link)| target(&app, &link).ok()) else {
        return bad_link();
    };
    page(
        StatusCode::OK,
        "Stop these e-mails?",
        &format!(
            "<p>You will get no more e-mail {}.</p>\
             <form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
             <button type=\"submit\" style=\"font-size:1rem;padding:.5rem 1rem\">Stop these e-mails</button></form>",
            what(&target)
        ),
    )
}

/// `POST` of a one-click link (RFC 8058): unsubscribes.
pub(super) async fn unsubscribe_now(State(app): State<Shared>, link: Result<Query<Link>, QueryRejection>) -> Response {
    let Some(target) = link.ok().and_then(|Query(link)| target(&app, &link).ok()) else {
        return bad_link();
    };
    match app.unsubscribe_by_link(&target).await {
        Ok(()) => page(
            StatusCode::OK,
            "Done",
            &format!(
                "<p>You will get no more e-mail {}. You can turn it on again in the chat window.</p>",
                what(&target)
            ),
        ),
        Err(e) => {
            let e = ApiError::from(e);
            tracing::warn!(
                status = e.status().as_u16(),
                code = e.code(),
                "one-click unsubscribe failed"
            );
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not done yet",
                "<p>Something went wrong on our side. Try the link again in a few minutes.</p>",
            )
        }
    }
}
