//! What the notifier reads of the local provider
//! ([`backend::notify::ChatView`]): members and rooms from the store,
//! unread counts and read horizons (message ids) from the store, presence
//! from the open WebSocket connections. The local provider has no muting:
//! a room's own subscription switch is the way to quiet it.

use backend::notify::{BoxFuture, ChatView, PersonView, RoomView, ViewError};

use crate::LocalChat;

fn failed(e: crate::store::StoreError) -> ViewError {
    ViewError(e.to_string())
}

impl ChatView for LocalChat {
    fn context_of<'a>(&'a self, conversation: &'a str) -> BoxFuture<'a, Result<Option<String>, ViewError>> {
        Box::pin(async move { Ok(Some(conversation.to_owned())) })
    }

    fn members<'a>(&'a self, context: &'a str) -> BoxFuture<'a, Result<Vec<String>, ViewError>> {
        Box::pin(async move {
            let members = self.inner.store.members_of(context, usize::MAX).map_err(failed)?;
            Ok(members.into_iter().map(|(identity, _)| identity).collect())
        })
    }

    fn rooms_of<'a>(&'a self, identity: &'a str) -> BoxFuture<'a, Result<Vec<String>, ViewError>> {
        Box::pin(async move { self.inner.store.rooms_of(identity).map_err(failed) })
    }

    fn post<'a>(
        &'a self,
        context: &'a str,
        identity: &'a str,
        body: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<(), ViewError>> {
        Box::pin(async move {
            self.post(context, identity, body, &format!("email-{key}"))
                .map(|_| ())
                .map_err(failed)
        })
    }

    fn person<'a>(
        &'a self,
        identity: &'a str,
        contexts: Option<&'a [String]>,
        excerpts: usize,
    ) -> BoxFuture<'a, Result<PersonView, ViewError>> {
        Box::pin(async move {
            let store = &self.inner.store;
            let contexts = match contexts {
                Some(contexts) => contexts.to_vec(),
                None => store.rooms_of(identity).map_err(failed)?,
            };
            let mut rooms = Vec::with_capacity(contexts.len());
            for context in &contexts {
                if !store.is_member(identity, context).map_err(failed)? {
                    continue;
                }
                let (unread, oldest_ms) = store.unread_since(identity, context).map_err(failed)?;
                rooms.push(RoomView {
                    context: context.clone(),
                    unread_from_others: unread,
                    oldest_unread_at: oldest_ms.map(|ms| u64::try_from(ms / 1000).unwrap_or(0)),
                    horizon: store.read_up_to(identity, context).map_err(failed)?,
                    muted: false,
                    latest: if excerpts > 0 && unread > 0 {
                        store.latest_unread(identity, context, excerpts).map_err(failed)?
                    } else {
                        Vec::new()
                    },
                });
            }
            let (online, last_seen_at) = self.presence_of(identity);
            Ok(PersonView {
                online,
                last_seen_at,
                rooms,
            })
        })
    }
}
