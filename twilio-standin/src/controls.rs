//! The stand-in's test controls under `/_standin/` (never a Twilio path):
//! request counts, injected failures, holds that make races deterministic,
//! reset, and seeded participations; and what an in-process test reads of
//! its state (requests, users, conversations, participants).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Standin;

pub async fn stats(State(s): State<Standin>) -> Json<Value> {
    Json(json!({ "requests": s.requests() }))
}

#[derive(Deserialize)]
pub struct FailBody {
    status: u16,
    count: u32,
}

pub async fn fail(State(s): State<Standin>, Json(body): Json<FailBody>) -> StatusCode {
    s.fail_next(body.status, body.count);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldBody {
    method: String,
    path_contains: String,
    parties: usize,
}

pub async fn hold(State(s): State<Standin>, Json(body): Json<HoldBody>) -> StatusCode {
    s.hold(&body.method, &body.path_contains, body.parties.max(1));
    StatusCode::NO_CONTENT
}

pub async fn reset(State(s): State<Standin>) -> StatusCode {
    s.reset();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
pub struct SeedBody {
    identity: String,
    context: String,
}

pub async fn seed(State(s): State<Standin>, Json(body): Json<SeedBody>) -> StatusCode {
    s.seed_participation(&body.identity, &body.context);
    StatusCode::NO_CONTENT
}

/// What an in-process test reads of the stand-in's state.
impl Standin {
    /// How many Twilio API requests (not controls) were answered.
    pub fn requests(&self) -> u64 {
        self.store().requests
    }

    /// The identities of all users.
    pub fn user_identities(&self) -> Vec<String> {
        self.store().users.iter().map(|u| u.identity.clone()).collect()
    }

    /// The unique names of all conversations.
    pub fn conversation_names(&self) -> Vec<String> {
        self.store()
            .conversations
            .iter()
            .filter_map(|c| c.unique_name.clone())
            .collect()
    }

    /// The identities taking part in the conversation named `unique_name`.
    pub fn participants_of(&self, unique_name: &str) -> Vec<String> {
        let store = self.store();
        let Some(conversation) = store.conversation(unique_name) else {
            return Vec::new();
        };
        store
            .participants
            .iter()
            .filter(|p| p.conversation_sid == conversation.sid)
            .map(|p| p.identity.clone())
            .collect()
    }

    /// The (author, body) of every message in the conversation named
    /// `unique_name`, oldest first.
    pub fn messages_of(&self, unique_name: &str) -> Vec<(String, String)> {
        let store = self.store();
        let Some(conversation) = store.conversation(unique_name) else {
            return Vec::new();
        };
        store
            .messages
            .iter()
            .filter(|m| m.conversation_sid == conversation.sid)
            .map(|m| (m.author.clone(), m.body.clone()))
            .collect()
    }
}
