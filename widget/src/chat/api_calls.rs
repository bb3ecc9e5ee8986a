//! The controller's calls to the API (issue #12's host side): each with
//! the host's JWT, asking the host for a fresh one when it is about to
//! expire and once after a 401 ([`UseChatReturn::with_host_token`]); the
//! session (the loader's answer first, [`super::offline`]) and the chat
//! token's renewal two minutes before it expires.

use leptos::prelude::*;
use protocol::{SessionResponse, TokenResponse};

use super::{UseChatReturn, offline};
use crate::api;
use crate::browser;
use crate::host;

impl UseChatReturn {
    /// A fresh chat token (`POST /v1/token` with the host token) handed to
    /// the client; returns when it expires.
    pub(super) async fn renew_chat_token(self) -> Result<u64, api::ApiFailure> {
        let renewed: TokenResponse = api::read(&self.call_api("/v1/token", None).await?)?;
        if let Some(client) = self.client() {
            client.update_token(&renewed.access_token);
        }
        Ok(renewed.expires_at)
    }

    /// `/v1/session` for `context` (the loader's answer, if it asked
    /// already for this context: [`offline::preloaded_session`]).
    pub(super) async fn open_session(self, context: &str) -> Result<SessionResponse, api::ApiFailure> {
        // (not if the host's JWT is about to expire: the host is asked for a fresh one first)
        let fresh = host::expires_in_secs(&self.page.host_token.get_untracked(), browser::now_ms())
            .is_none_or(|secs| secs >= host::RENEW_WITHIN_SECS);
        if let Some(session) = offline::preloaded_session(context, fresh).await {
            return Ok(session);
        }
        api::read(&self.call_api("/v1/session", Some(context)).await?)
    }

    /// Calls the API at `path` with the host's JWT (`/v1/session` with a
    /// context, `/v1/token` without).
    async fn call_api(self, path: &'static str, context: Option<&str>) -> Result<String, api::ApiFailure> {
        let device = self.device.get_value();
        self.with_host_token(path, Some(&|token: &str| api::body(token, context, &device)))
            .await
    }

    /// Calls the API at `path` with the host's JWT: a POST of what `body`
    /// makes of the token, or without `body` a GET with the token as
    /// `Authorization: Bearer`. Asks the host for a fresh token first when
    /// it is about to expire, and once more when the API refuses it (401);
    /// the answer the user sees comes only after that. (Not generic: one
    /// copy of this loop in the download.)
    pub async fn with_host_token(
        self,
        path: &str,
        body: Option<&dyn Fn(&str) -> String>,
    ) -> Result<String, api::ApiFailure> {
        let url = self.api.get_value() + path;
        let mut token = self.page.host_token.get_untracked();
        let mut ask = host::expires_in_secs(&token, browser::now_ms())
            .is_some_and(|secs| secs < host::RENEW_WITHIN_SECS)
            .then_some("expired");
        let mut refused = None;
        loop {
            if let Some(reason) = ask.take() {
                match self.fresh_host_token(reason).await {
                    Some(fresh) => token = fresh,
                    // nothing new to try: the refusal (if any) is the answer
                    None if refused.is_some() => break,
                    None => {}
                }
            }
            let answer = match body {
                Some(body) => api::post(&url, &body(&token)).await,
                None => api::get(&url, &token).await,
            };
            match answer {
                Err(e) if e.status == 401 && refused.is_none() => {
                    refused = Some(e);
                    ask = Some("refused");
                }
                answer => return answer,
            }
        }
        Err(refused.unwrap_or_else(api::ApiFailure::unreachable))
    }

    async fn fresh_host_token(self, reason: host::Reason) -> Option<String> {
        let answer = wasm_bindgen_futures::JsFuture::from(host::ask(reason)?).await;
        let token = answer.ok()?.as_string().filter(|t| !t.is_empty())?;
        self.page.host_token.set(token.clone());
        Some(token)
    }

    /// Renews the chat token two minutes before it expires.
    pub(super) fn schedule_renewal(self, expires_at: u64) {
        let wait_ms = ((expires_at as f64) * 1000.0 - browser::now_ms() - 120_000.0).max(10_000.0);
        browser::after(wait_ms, move || {
            leptos::task::spawn_local(async move {
                if let Ok(expires_at) = self.renew_chat_token().await {
                    self.schedule_renewal(expires_at);
                }
            });
        });
    }
}
