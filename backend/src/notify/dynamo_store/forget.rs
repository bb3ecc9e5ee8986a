//! `NotifyStore::forget` on DynamoDB (and the retention's scan of reply
//! routes, `expire_reply_routes`): every item about one person, found by
//! its partition (`sub#`, `code#`, `codelog-id#`, `mail#`, `replylog#`),
//! by its sort key (`watch`), by an attribute within a small partition
//! (`deferred`, read whole), and through the `reply-routes` index for the
//! reply routes (keyed by tag, so nothing else finds them).
//!
//! Order keeps a run cut short safe to run again: the by-mailbox entries
//! of the codes-sent log are found through the person's own entries and
//! addresses, so they go first, and those go last.

use std::collections::{BTreeSet, HashSet};

use super::{DynamoNotifyStore, Item, failed, text};
use crate::dynamo::s;
use crate::notify::email_address::EmailAddress;
use crate::notify::store::{KeptAbout, REPLY_ROUTE_SECS, StoreError};

/// An item's key.
type Key = (String, String);

fn key_of(item: &Item) -> Result<Key, StoreError> {
    Ok((text(item, "pk")?, text(item, "sk")?))
}

impl DynamoNotifyStore {
    pub(super) async fn forget_items(&self, identity: &str, erase: bool) -> Result<KeptAbout, StoreError> {
        let keys = |items: Vec<Item>| items.iter().map(key_of).collect::<Result<Vec<Key>, _>>();
        let subscriptions = self.partition(format!("sub#{identity}"), None).await?;
        let codes = self.partition(format!("code#{identity}"), None).await?;
        let codes_sent = keys(self.partition(format!("codelog-id#{identity}"), None).await?)?;
        // the mailboxes the person was sent codes at or gets digests at
        let mailboxes: BTreeSet<String> = subscriptions
            .iter()
            .filter_map(|item| text(item, "address").ok())
            .chain(codes.iter().filter_map(|item| text(item, "sk").ok()))
            .filter_map(|address| EmailAddress::parse(&address).ok())
            .map(|address| address.mailbox())
            .collect();
        let sent_at: HashSet<&str> = codes_sent.iter().map(|(_, sk)| sk.as_str()).collect();
        let mut by_mailbox = Vec::new();
        for mailbox in &mailboxes {
            for (pk, sk) in keys(self.partition(format!("codelog-addr#{mailbox}"), None).await?)? {
                // the same sort key (time and id) as the person's own entry
                if sent_at.contains(sk.as_str()) {
                    by_mailbox.push((pk, sk));
                }
            }
        }
        let watch = self.watch_key(identity).await?;
        let room_mail = keys(self.partition(format!("mail#{identity}"), None).await?)?;
        let replies_logged = keys(self.partition(format!("replylog#{identity}"), None).await?)?;
        let deferred = self
            .partition("deferred".into(), None)
            .await?
            .iter()
            .filter(|item| text(item, "author").ok().as_deref() == Some(identity))
            .map(key_of)
            .collect::<Result<Vec<Key>, _>>()?;
        let reply_routes = self.reply_routes_of(identity).await?;
        let kept = KeptAbout {
            subscriptions: subscriptions.len(),
            codes: codes.len(),
            codes_sent: codes_sent.len(),
            watches: usize::from(watch.is_some()),
            room_mail: room_mail.len(),
            reply_routes: reply_routes.len(),
            replies_logged: replies_logged.len(),
            deferred_events: deferred.len(),
        };
        if erase {
            let last = keys(subscriptions)?.into_iter().chain(keys(codes)?).chain(codes_sent);
            let all = by_mailbox
                .into_iter()
                .chain(watch)
                .chain(room_mail)
                .chain(replies_logged)
                .chain(deferred)
                .chain(reply_routes)
                .chain(last);
            self.delete_keys(all).await?;
        }
        Ok(kept)
    }

    /// Deletes the items of `keys`, one at a time, in order.
    async fn delete_keys(&self, keys: impl IntoIterator<Item = Key>) -> Result<(), StoreError> {
        for (pk, sk) in keys {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(pk))
                .key("sk", s(sk))
                .send()
                .await
                .map_err(failed)?;
        }
        Ok(())
    }

    async fn watch_key(&self, identity: &str) -> Result<Option<Key>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s("watch"))
            .key("sk", s(identity))
            .consistent_read(true)
            .send()
            .await
            .map_err(failed)?;
        Ok(answer.item().map(|_| ("watch".to_owned(), identity.to_owned())))
    }

    /// Every reply route, through the `reply-routes` index (its keys and
    /// `identity`, `context`, `expires`).
    async fn all_routes(&self) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(super::ROUTES_INDEX)
            .key_condition_expression("routes = :reply")
            .expression_attribute_values(":reply", s("reply"));
        crate::dynamo::all_items(query).await.map_err(StoreError)
    }

    /// Removes the reply routes of rooms past their retention (once an
    /// hour, from the retention's run).
    pub(super) async fn expire_routes(
        &self,
        cutoff: &(dyn Fn(&str) -> Option<u64> + Sync),
    ) -> Result<usize, StoreError> {
        let mut gone = Vec::new();
        for item in self.all_routes().await? {
            let (Ok(context), Ok(expires)) = (text(&item, "context"), super::number(&item, "expires")) else {
                continue;
            };
            if cutoff(&context).is_some_and(|cutoff| expires < cutoff.saturating_add(REPLY_ROUTE_SECS)) {
                gone.push(key_of(&item)?);
            }
        }
        let count = gone.len();
        self.delete_keys(gone).await?;
        Ok(count)
    }

    /// Every reply route that leads to `identity`.
    async fn reply_routes_of(&self, identity: &str) -> Result<Vec<Key>, StoreError> {
        self.all_routes()
            .await?
            .iter()
            .filter(|item| text(item, "identity").ok().as_deref() == Some(identity))
            .map(key_of)
            .collect()
    }
}
