//! Remote control over NATS ([`Capability::RemoteControl`](crate::pubsub::Capability::RemoteControl)):
//! a command for a socket, or a count, is published to every instance on
//! `<prefix>.control`, and each answers on the asker's
//! `<prefix>.reply.<instance>` (the packets and the bookkeeping are
//! `pubsub/asking.rs`).
//!
//! NATS does not say how many received a message, so each instance keeps
//! the others' membership: on `<prefix>.instances` every instance says
//! `hello` when it connects (the others answer at once with a `beat`), a
//! `beat` every second, and `bye` when it stops; one not heard for
//! [`EXPIRY`] is gone. A request waits for an answer from every member (a
//! command: for the holder's), at most the control timeout. An instance
//! that died less than [`EXPIRY`] ago fails requests until it expires
//! (`PubSubError::Backend`, naming how many did not answer), rather than a
//! count that silently misses it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::Shared;
use crate::error::PubSubError;
use crate::pubsub::BackendContext;
use crate::pubsub::asking::{self, Ask, Gathered};
use crate::pubsub::packet::{self, Kind};
use crate::util::sync::lock;

/// How often an instance says it is alive.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long an instance not heard from counts as a member.
pub(crate) const EXPIRY: Duration = Duration::from_millis(3500);

/// How long an instance not heard from is remembered (presence expiries are shorter).
const FORGOTTEN: Duration = Duration::from_secs(3600);

/// The other instances heard from, and when last.
#[derive(Default)]
pub(crate) struct Members {
    seen: std::sync::Mutex<HashMap<[u8; 16], Instant>>,
}

impl Members {
    /// How many other instances are alive now.
    fn alive(&self) -> usize {
        let mut seen = lock(&self.seen);
        // Kept longer than they count, for `heard_within`.
        seen.retain(|_, at| at.elapsed() < FORGOTTEN);
        seen.values().filter(|at| at.elapsed() < EXPIRY).count()
    }

    /// Whether `instance` was heard from within `within`.
    pub(crate) fn heard_within(&self, instance: &[u8; 16], within: Duration) -> bool {
        lock(&self.seen).get(instance).is_some_and(|at| at.elapsed() < within)
    }

    /// Records what `instance` said; whether it is new.
    fn heard(&self, instance: [u8; 16], word: &str) -> bool {
        let mut seen = lock(&self.seen);
        if word == "bye" {
            seen.remove(&instance);
            return false;
        }
        seen.insert(instance, Instant::now()).is_none()
    }
}

/// Asks every other instance: a command or a count; each member answers.
pub(crate) async fn ask(shared: &Shared, ask: Ask<'_>) -> Result<Gathered, PubSubError> {
    let Some(client) = shared.client.get().filter(|_| shared.counters.is_connected()) else {
        return Err(PubSubError::Backend(
            "NATS is unreachable: the other instances cannot be asked".to_owned(),
        ));
    };
    let publish = |packet: Vec<u8>| async move {
        client
            .publish(shared.subjects.control.clone(), packet.into())
            .await
            .map_err(|error| PubSubError::Backend(format!("NATS refused the request: {error}")))?;
        Ok(shared.members.alive())
    };
    shared.requests.ask(&shared.instance, ask, shared.config.control_timeout, publish).await
}

/// Answers the commands and counts other instances ask, on `<prefix>.control`.
pub(crate) async fn answer(
    shared: Arc<Shared>,
    context: BackendContext,
    mut requests: async_nats::Subscriber,
) {
    while let Some(message) = requests.next().await {
        let handled = match packet::decode(&message.payload) {
            Some(packet) if packet.instance == shared.instance => true,
            Some(packet) if packet.kind == Kind::Command => {
                let (reply_to, sender) = (shared.subjects.reply_of(&packet.instance), shared.clone());
                asking::on_command(shared.instance, &context, &packet, move |answer| {
                    sender.enqueue(reply_to, answer);
                })
            }
            Some(packet) if packet.kind == Kind::Count => {
                match asking::on_count(&shared.instance, &context, &packet) {
                    Some(answer) => {
                        shared.enqueue(shared.subjects.reply_of(&packet.instance), answer);
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        };
        if !handled {
            shared.junk(message.subject.as_str());
        }
    }
}

/// Records the answers to this instance's requests, on its reply subject.
pub(crate) async fn read_answers(shared: Arc<Shared>, mut answers: async_nats::Subscriber) {
    while let Some(message) = answers.next().await {
        let recorded = packet::decode(&message.payload).is_some_and(|packet| {
            packet.kind == Kind::Answer && asking::on_answer(&shared.requests, &packet)
        });
        if !recorded {
            shared.junk(message.subject.as_str());
        }
    }
}

/// Keeps the membership: says `hello`, then a `beat` every [`HEARTBEAT`];
/// records what the others say, and answers a newcomer's `hello` at once.
pub(crate) async fn keep_membership(
    shared: Arc<Shared>,
    client: async_nats::Client,
    mut others: async_nats::Subscriber,
) {
    let me = crate::util::random::hex(&shared.instance);
    let say = |word: &str| client.publish(shared.subjects.instances.clone(), format!("{me} {word}").into());
    let _ = say("hello").await;
    // Four beats per presence expiry at least: silence for three quarters of it is death.
    let mut beat = tokio::time::interval(HEARTBEAT.min(shared.config.presence_expiry / 4));
    loop {
        tokio::select! {
            _ = beat.tick() => {
                let _ = say("beat").await;
            }
            message = others.next() => {
                let Some(message) = message else { return };
                let text = std::str::from_utf8(&message.payload).unwrap_or_default();
                let Some((instance, word)) = text.split_once(' ').and_then(|(hex, word)| Some((unhex(hex)?, word))) else {
                    shared.junk(message.subject.as_str());
                    continue;
                };
                if instance == shared.instance {
                    continue;
                }
                if !matches!(word, "hello" | "beat" | "bye") {
                    shared.junk(message.subject.as_str());
                    continue;
                }
                let new = shared.members.heard(instance, word);
                if word == "hello" || new {
                    let _ = say("beat").await;
                }
            }
        }
    }
}

/// Says `bye`, so the others stop waiting for this instance at once.
pub(crate) async fn leave(shared: &Shared) {
    if let Some(client) = shared.client.get() {
        let me = crate::util::random::hex(&shared.instance);
        let _ = client.publish(shared.subjects.instances.clone(), format!("{me} bye").into()).await;
    }
}

fn unhex(hex: &str) -> Option<[u8; 16]> {
    crate::util::random::unhex(hex)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_come_beat_and_go() {
        let members = Members::default();
        assert!(members.heard([1; 16], "hello"));
        assert!(!members.heard([1; 16], "beat"));
        assert!(members.heard([2; 16], "beat"));
        assert_eq!(members.alive(), 2);
        assert!(!members.heard([1; 16], "bye"));
        assert_eq!(members.alive(), 1);
    }

    #[test]
    fn instance_ids_round_trip_through_hex() {
        let id = [0xab; 16];
        assert_eq!(unhex(&crate::util::random::hex(&id)), Some(id));
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex(&"g".repeat(32)), None);
    }
}
