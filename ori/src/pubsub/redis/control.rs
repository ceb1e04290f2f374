//! Remote control over Redis ([`Capability::RemoteControl`](crate::pubsub::Capability::RemoteControl)):
//! a command for a socket, or a count, is asked of every instance at once
//! on the direct channel, whose `PUBLISH` reply says how many instances
//! listen; each answers on the asker's own reply channel
//! (`<prefix>#reply:<instance>`). The instance that holds the socket
//! answers with what running the command did, the others with "absent"
//! (so "connected nowhere" is known as soon as everyone answered, not at a
//! timeout); for a count, each with its own. The asker waits at most the
//! control timeout. One request costs one `PUBLISH` and one small answer
//! per instance, whatever the id: an unknown socket starts no storm.
//!
//! Payloads, after the packet header (text):
//! - a command (`Kind::Command`, header socket: the target): `<id>\n<SocketCommand as JSON>`;
//! - a count (`Kind::Count`): `<id>\n<CountQuery as JSON>`;
//! - an answer (`Kind::Answer`): `<id>\n` then `done`, `absent`, `count\n<n>`,
//!   or `failed\n<the error>`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::FutureExt;
use tokio::sync::oneshot;

use super::{Pending, Shared};
use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::protocol::Outbound;
use crate::pubsub::packet::{self, Kind, Packet};
use crate::pubsub::{BackendContext, CountQuery, SocketCommand};
use crate::util::sync::lock;

/// What one instance answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// It holds the socket and ran the command.
    Done,
    /// It does not hold the socket.
    Absent,
    /// It holds the socket, and the command failed there.
    Failed(String),
    /// Its count.
    Count(usize),
}

/// What the answers to one request came to.
#[derive(Debug, Default)]
struct Gathered {
    /// The holder's answer to a command: `Ok` done, `Err` failed.
    held: Option<Result<(), String>>,
    /// The sum of the counts.
    sum: usize,
}

/// A request waiting for its answers.
struct Request {
    /// How many instances answer (known once `PUBLISH` returned).
    expected: Option<usize>,
    answered: usize,
    gathered: Gathered,
    done: Option<oneshot::Sender<Gathered>>,
}

impl Request {
    /// Hands the answers over once the holder answered or everyone did.
    fn settle_if_complete(&mut self) {
        let everyone = self.expected.is_some_and(|expected| self.answered >= expected);
        if (everyone || self.gathered.held.is_some())
            && let Some(done) = self.done.take()
        {
            let _ = done.send(std::mem::take(&mut self.gathered));
        }
    }
}

/// This instance's requests waiting for answers.
#[derive(Default)]
pub(crate) struct Requests {
    next: AtomicU64,
    open: std::sync::Mutex<HashMap<u64, Request>>,
}

impl Requests {
    fn open(&self) -> (u64, oneshot::Receiver<Gathered>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (done, waiting) = oneshot::channel();
        let request =
            Request { expected: None, answered: 0, gathered: Gathered::default(), done: Some(done) };
        lock(&self.open).insert(id, request);
        (id, waiting)
    }

    fn expect(&self, id: u64, answers: usize) {
        if let Some(request) = lock(&self.open).get_mut(&id) {
            request.expected = Some(answers);
            request.settle_if_complete();
        }
    }

    fn answer(&self, id: u64, answer: Answer) {
        let mut open = lock(&self.open);
        let Some(request) = open.get_mut(&id) else { return }; // late: the asker gave up
        request.answered += 1;
        match answer {
            Answer::Done => request.gathered.held = Some(Ok(())),
            Answer::Failed(error) => request.gathered.held = Some(Err(error)),
            Answer::Count(n) => request.gathered.sum += n,
            Answer::Absent => {}
        }
        request.settle_if_complete();
    }

    /// Forgets a request; how many answered of how many expected.
    fn close(&self, id: u64) -> (usize, Option<usize>) {
        lock(&self.open).remove(&id).map_or((0, None), |request| (request.answered, request.expected))
    }
}

/// Runs `command` on `socket` on whichever other instance holds it:
/// `Ok(true)` done there, `Ok(false)` held nowhere.
pub(crate) async fn command(
    shared: &Shared,
    socket: SocketId,
    command: &SocketCommand,
) -> Result<bool, PubSubError> {
    let body = serde_json::to_string(command).map_err(|e| PubSubError::Serialize(e.to_string()))?;
    match ask(shared, Kind::Command, Some(socket), &body).await?.held {
        None => Ok(false),
        Some(Ok(())) => Ok(true),
        Some(Err(error)) => Err(PubSubError::Remote(error)),
    }
}

/// `query` counted on every other instance, summed.
pub(crate) async fn count(shared: &Shared, query: &CountQuery) -> Result<usize, PubSubError> {
    let body = serde_json::to_string(query).map_err(|e| PubSubError::Serialize(e.to_string()))?;
    Ok(ask(shared, Kind::Count, None, &body).await?.sum)
}

async fn ask(
    shared: &Shared,
    kind: Kind,
    socket: Option<SocketId>,
    body: &str,
) -> Result<Gathered, PubSubError> {
    let Some(mut connection) = shared.connection() else {
        return Err(PubSubError::Backend(
            "Redis is unreachable: the other instances cannot be asked".to_owned(),
        ));
    };
    let (id, answers) = shared.requests.open();
    let packet = packet::encode(kind, &shared.instance, socket, &Outbound::text(&format!("{id}\n{body}")));
    let listeners: usize = match redis::cmd("PUBLISH")
        .arg(&shared.direct_channel)
        .arg(packet)
        .query_async(&mut connection)
        .await
    {
        Ok(listeners) => listeners,
        Err(error) => {
            shared.requests.close(id);
            return Err(PubSubError::Backend(format!("Redis refused the request: {error}")));
        }
    };
    // This instance listens on the direct channel too, and does not answer itself.
    shared.requests.expect(id, listeners.saturating_sub(1));
    let timeout = shared.config.control_timeout;
    let gathered = tokio::time::timeout(timeout, answers).await;
    let (answered, expected) = shared.requests.close(id);
    match gathered {
        Ok(Ok(gathered)) => Ok(gathered),
        _ => {
            let expected = expected.unwrap_or(answered);
            Err(PubSubError::Backend(format!(
                "{} of {expected} other instances did not answer within {timeout:?}",
                expected.saturating_sub(answered)
            )))
        }
    }
}

/// Answers a command another instance asked (run here if the socket is).
pub(crate) fn on_command(shared: &Arc<Shared>, context: &BackendContext, packet: &Packet) -> bool {
    let (Some(socket), Some((id, body))) = (packet.socket, split(&packet.message)) else { return false };
    let Ok(command) = serde_json::from_str::<SocketCommand>(body) else { return false };
    let reply_to = shared.reply_channel_of(&packet.instance);
    let mut running = context.run_command(socket, command);
    // Most instances do not hold the socket: they answer at once, without a task.
    match (&mut running).now_or_never() {
        Some(outcome) => send_answer(shared, reply_to, id, &answer_of(outcome)),
        None => {
            let shared = shared.clone();
            tokio::spawn(async move {
                let answer = answer_of(running.await);
                send_answer(&shared, reply_to, id, &answer);
            });
        }
    }
    true
}

/// Answers a count another instance asked.
pub(crate) fn on_count(shared: &Shared, context: &BackendContext, packet: &Packet) -> bool {
    let Some((id, body)) = split(&packet.message) else { return false };
    let Ok(query) = serde_json::from_str::<CountQuery>(body) else { return false };
    let answer = Answer::Count(context.count(&query));
    send_answer(shared, shared.reply_channel_of(&packet.instance), id, &answer);
    true
}

/// Records an answer to one of this instance's requests.
pub(crate) fn on_answer(shared: &Shared, packet: &Packet) -> bool {
    let Some((id, text)) = split(&packet.message) else { return false };
    let answer = match text.split_once('\n') {
        None if text == "done" => Answer::Done,
        None if text == "absent" => Answer::Absent,
        Some(("failed", error)) => Answer::Failed(error.to_owned()),
        Some(("count", n)) => match n.parse() {
            Ok(n) => Answer::Count(n),
            Err(_) => return false,
        },
        _ => return false,
    };
    shared.requests.answer(id, answer);
    true
}

fn answer_of(outcome: Option<Result<(), PubSubError>>) -> Answer {
    match outcome {
        None => Answer::Absent,
        Some(Ok(())) => Answer::Done,
        Some(Err(error)) => Answer::Failed(error.to_string()),
    }
}

fn send_answer(shared: &Shared, channel: String, id: u64, answer: &Answer) {
    let text = match answer {
        Answer::Done => format!("{id}\ndone"),
        Answer::Absent => format!("{id}\nabsent"),
        Answer::Failed(error) => format!("{id}\nfailed\n{error}"),
        Answer::Count(n) => format!("{id}\ncount\n{n}"),
    };
    let packet = packet::encode(Kind::Answer, &shared.instance, None, &Outbound::text(&text));
    shared.enqueue(Pending::Publish { channel: Some(channel), packet });
}

/// `<id>\n<rest>` of a control packet's text.
fn split(message: &Outbound) -> Option<(u64, &str)> {
    let text = std::str::from_utf8(message.payload()).ok()?;
    let (id, rest) = text.split_once('\n')?;
    Some((id.parse().ok()?, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_settles_at_the_holders_answer_a_count_at_the_last() {
        let requests = Requests::default();
        let (command, mut done) = requests.open();
        requests.answer(command, Answer::Absent);
        requests.expect(command, 3);
        assert!(done.try_recv().is_err(), "two instances have not answered");
        requests.answer(command, Answer::Done);
        let gathered = done.try_recv().expect("the holder answered");
        assert_eq!(gathered.held, Some(Ok(())));

        let (count, mut done) = requests.open();
        requests.expect(count, 2);
        requests.answer(count, Answer::Count(4));
        assert!(done.try_recv().is_err());
        requests.answer(count, Answer::Count(5));
        assert_eq!(done.try_recv().expect("everyone answered").sum, 9);

        // Nobody else listens: settled at once, held nowhere.
        let (alone, mut done) = requests.open();
        requests.expect(alone, 0);
        assert_eq!(done.try_recv().expect("no one to wait for").held, None);
        // Closed, it is forgotten, and a late answer is dropped.
        assert_eq!(requests.close(alone), (0, Some(0)));
        requests.answer(alone, Answer::Done);
        assert_eq!(requests.close(alone), (0, None));
    }

    #[test]
    fn payloads_split_into_id_and_text() {
        assert_eq!(split(&Outbound::text("7\ndone")), Some((7, "done")));
        assert_eq!(split(&Outbound::text("7\nfailed\nno\nway")), Some((7, "failed\nno\nway")));
        assert_eq!(split(&Outbound::text("x\ndone")), None);
        assert_eq!(split(&Outbound::text("7")), None);
    }
}
