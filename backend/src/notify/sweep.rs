//! The sweep's half of the notifier: look at each due person now, plan,
//! render, send a batch at a time, record the throttle, settle the watch.

use std::collections::BTreeMap;

use super::{
    EXCERPTS_PER_ROOM, MUTED, Notifier, NotifyError, PersonView, SWEEP_LIMIT, SendError, SweepReport, follows,
};
use crate::domain::ContextName;
use crate::notify::digest_mail::{self, Digest, Email, MailError, RoomLine};
use crate::notify::digest_plan::{self, PersonState, RoomState};
use crate::notify::store::{NotifyStore, RoomMail, Watch};
use crate::notify::unsubscribe_link::Target;

/// A due e-mail and the rooms it names.
type Outgoing = (Email, Vec<String>);

/// One person's share of a sweep.
struct Looked {
    watch: Watch,
    /// Per address: the person as planned, and the e-mail (if one is due).
    parts: Vec<(PersonState, Option<Outgoing>)>,
    horizons: BTreeMap<String, Option<i64>>,
}

impl<S: NotifyStore> Notifier<S> {
    /// Reads one watched person now and plans their e-mails.
    async fn look_at(&self, watch: Watch, now: u64) -> Result<Looked, NotifyError> {
        let identity = watch.identity.as_str();
        let subscriptions = self.store.subscriptions(identity).await?;
        let contexts: Vec<String> = subscriptions
            .iter()
            .filter(|s| s.address != MUTED)
            .filter_map(|s| s.context.clone())
            .collect();
        // an all-rooms subscription: the provider lists the rooms in the same call
        let all_rooms = subscriptions.iter().any(|s| s.context.is_none());
        let excerpts = if self.config.excerpts { EXCERPTS_PER_ROOM } else { 0 };
        let view = if all_rooms {
            self.chat.person(identity, None, excerpts).await?
        } else if contexts.is_empty() {
            PersonView {
                online: false,
                last_seen_at: None,
                rooms: Vec::new(),
            }
        } else {
            self.chat.person(identity, Some(&contexts), excerpts).await?
        };
        let mail_state = self.store.room_mail(identity).await?;
        let mut by_address: BTreeMap<String, Vec<RoomState>> = BTreeMap::new();
        let mut horizons = BTreeMap::new();
        let mut latest = BTreeMap::new();
        for room in view.rooms {
            let Some(address) = follows(&subscriptions, &room.context) else {
                continue;
            };
            // e-mails count only while the horizon stays where it was
            let (emails_since_read, last_email_at) = match mail_state.iter().find(|m| m.context == room.context) {
                Some(m) if m.horizon == room.horizon => (m.emails, Some(m.last_email_at)),
                _ => (0, None),
            };
            horizons.insert(room.context.clone(), room.horizon);
            latest.insert(room.context.clone(), room.latest);
            by_address.entry(address).or_default().push(RoomState {
                context: room.context,
                unread_from_others: room.unread_from_others,
                oldest_unread_at: room.oldest_unread_at,
                muted: room.muted,
                emails_since_read,
                last_email_at,
            });
        }
        let mut parts = Vec::new();
        for (address, rooms) in by_address {
            let person = PersonState {
                identity: identity.to_owned(),
                address,
                last_seen_at: view.last_seen_at,
                online: view.online,
                rooms,
            };
            let planned = digest_plan::plan(std::slice::from_ref(&person), now, self.config.delay);
            let email = match planned.into_iter().next() {
                None => None,
                Some(digest) => match self.render(&digest, &latest) {
                    Ok(email) => Some((email, digest.rooms.into_iter().map(|(context, _)| context).collect())),
                    Err(e) => {
                        tracing::error!(identity, error = %e, "a digest cannot be rendered; skipped");
                        None
                    }
                },
            };
            parts.push((person, email));
        }
        Ok(Looked { watch, parts, horizons })
    }

    /// The e-mail of `planned`, quoting `latest` (excerpts on).
    fn render(
        &self,
        planned: &digest_plan::PlannedDigest,
        latest: &BTreeMap<String, Vec<(String, String)>>,
    ) -> Result<Email, MailError> {
        let target = |context: Option<&str>| Target {
            identity: planned.identity.clone(),
            context: context.map(str::to_owned),
        };
        let rooms = planned
            .rooms
            .iter()
            .filter_map(|(context, unread)| {
                let name = ContextName::parse(context).ok()?;
                Some(RoomLine {
                    context: name,
                    unread: *unread,
                    link: self.link(&self.config.link_template, context),
                    stop: self.links.link(&self.config.public_url, &target(Some(context))),
                    excerpts: latest.get(context).cloned().unwrap_or_default(),
                    reply: self.reply_address(&planned.identity, context),
                })
            })
            .collect();
        digest_mail::render(&Digest {
            to: planned.address.clone(),
            product: self.config.product.clone(),
            rooms,
            unsubscribe_url: self.links.link(&self.config.public_url, &target(None)),
            unsubscribe_mailto: None,
        })
    }

    /// Records what went out to `looked` and moves its watch on.
    async fn settle(&self, looked: &mut Looked, sent: bool, now: u64) -> Result<(), NotifyError> {
        let mut next: Option<u64> = None;
        for (person, email) in &mut looked.parts {
            let email = &*email;
            if sent && let Some((_, named)) = email {
                let mut mail = Vec::new();
                for room in person.rooms.iter_mut().filter(|r| named.contains(&r.context)) {
                    room.emails_since_read += 1;
                    room.last_email_at = Some(now);
                    mail.push(RoomMail {
                        context: room.context.clone(),
                        emails: room.emails_since_read,
                        last_email_at: now,
                        horizon: looked.horizons.get(&room.context).copied().flatten(),
                    });
                }
                self.store.record_room_mail(&person.identity, &mail).await?;
            }
            let at = digest_plan::next_check(person, now, self.config.delay);
            next = match (next, at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        self.store.settle_watch(&looked.watch, next).await?;
        Ok(())
    }

    pub(super) async fn do_sweep(&self) -> Result<SweepReport, NotifyError> {
        // events first: the watches they make may be due already
        let events = self.note_deferred().await?;
        let now = self.clock.now_secs();
        let watches = self.store.due_watches(now, SWEEP_LIMIT).await?;
        let mut report = SweepReport {
            people: watches.len(),
            events,
            ..SweepReport::default()
        };
        // a batch's worth of people at a time, so memory stays bounded
        let batch = self.mailer.batch_size().max(1);
        let started = std::time::Instant::now();
        let mut watches = watches.into_iter();
        loop {
            if self
                .config
                .sweep_budget
                .is_some_and(|budget| started.elapsed() >= budget)
            {
                // out of time: the rest stay due for the next sweep
                report.deferred += watches.len();
                break;
            }
            let chunk: Vec<Watch> = watches.by_ref().take(batch).collect();
            if chunk.is_empty() {
                break;
            }
            if !self.sweep_chunk(chunk, now, &mut report).await? {
                // the provider is down: the rest waits for the next sweep too
                report.deferred += watches.len();
                break;
            }
        }
        Ok(report)
    }

    /// Looks at `watches`, sends what is due, settles them; `false` when
    /// the mail provider is unavailable (nothing of the batch recorded).
    async fn sweep_chunk(&self, watches: Vec<Watch>, now: u64, report: &mut SweepReport) -> Result<bool, NotifyError> {
        let mut looked = Vec::with_capacity(watches.len());
        for watch in watches {
            let identity = watch.identity.clone();
            match self.look_at(watch, now).await {
                Ok(l) => looked.push(l),
                Err(e) => {
                    tracing::warn!(identity, error = %e, "cannot look at a watched person now; next sweep");
                    report.deferred += 1;
                }
            }
        }
        // who has nothing to send is settled at once; the rest by batch
        let (mut quiet, mut mailing): (Vec<Looked>, Vec<Looked>) = looked
            .into_iter()
            .partition(|l| l.parts.iter().all(|(_, e)| e.is_none()));
        for l in &mut quiet {
            self.settle(l, false, now).await?;
        }
        let mut remaining: &mut [Looked] = &mut mailing;
        let batch = self.mailer.batch_size().max(1);
        while !remaining.is_empty() {
            // whole people per batch, at most `batch` e-mails
            let mut take = 0;
            let mut count = 0;
            while take < remaining.len() {
                let emails = remaining[take].parts.iter().filter(|(_, e)| e.is_some()).count();
                if count > 0 && count + emails > batch {
                    break;
                }
                count += emails;
                take += 1;
            }
            let (this, rest) = remaining.split_at_mut(take);
            remaining = rest;
            let emails: Vec<Email> = this
                .iter()
                .flat_map(|l| {
                    l.parts
                        .iter()
                        .filter_map(|(_, e)| e.as_ref().map(|(email, _)| email.clone()))
                })
                .collect();
            // before they go out, the batch's reply addresses must lead somewhere (one write)
            let routes: Vec<_> = this
                .iter()
                .flat_map(|l| {
                    l.parts.iter().filter_map(|(person, e)| {
                        e.as_ref().map(|(_, named)| self.reply_routes(&person.identity, named))
                    })
                })
                .flatten()
                .collect();
            if !routes.is_empty() {
                self.store.put_reply_routes(&routes, now).await?;
            }
            match self.mailer.send(&emails).await {
                Ok(requests) => {
                    report.requests += requests;
                    report.emails += emails.len();
                }
                Err(SendError::Rejected(why)) => {
                    tracing::error!(
                        emails = emails.len(),
                        why,
                        "the mail provider refused a batch of digests"
                    );
                    report.requests += 1;
                    report.refused += emails.len();
                }
                Err(e @ SendError::Unavailable(_)) => {
                    tracing::warn!(error = %e, "digests wait for the next sweep");
                    report.deferred += this.len() + remaining.len();
                    return Ok(false);
                }
            }
            for l in this.iter_mut() {
                self.settle(l, true, now).await?;
            }
        }
        Ok(true)
    }
}
