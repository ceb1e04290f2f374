//! Asking every other instance, the part every backend with remote
//! control shares: requests waiting for their answers ([`Requests`]), and
//! the packets of a command, a count and an answer (the broker carries them;
//! `redis/control.rs` and `nats/control.rs` say how, and how many answer).
//!
//! Payloads, after the packet header (text):
//! - a command (`Kind::Command`, header socket: the target): `<id>\n<SocketCommand as JSON>`;
//! - a count (`Kind::Count`): `<id>\n<CountQuery as JSON>`;
//! - an answer (`Kind::Answer`): `<id>\n` then `done`, `absent`, `count\n<n>`,
//!   or `failed\n<the error>`.
//!
//! The instance that holds the socket answers a command with what running
//! it did, the others with "absent", so "connected nowhere" is known as soon
//! as everyone answered, not at a timeout.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::oneshot;

use crate::connection::socket_id::SocketId;
use crate::error::PubSubError;
use crate::protocol::Outbound;
use crate::pubsub::packet::{self, Kind, Packet};
use crate::pubsub::{BackendContext, CountQuery, SocketCommand};
use crate::util::sync::lock;

/// What one instance answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
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
pub(crate) struct Gathered {
    /// The holder's answer to a command: `Ok` done, `Err` failed.
    pub(crate) held: Option<Result<(), String>>,
    /// The sum of the counts.
    pub(crate) sum: usize,
}

/// A request waiting for its answers.
struct Request {
    /// How many instances answer (known once the request is sent).
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

    pub(crate) fn expect(&self, id: u64, answers: usize) {
        if let Some(request) = lock(&self.open).get_mut(&id) {
            request.expected = Some(answers);
            request.settle_if_complete();
        }
    }

    pub(crate) fn answer(&self, id: u64, answer: Answer) {
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

    /// Asks every other instance: `send` publishes the request's packet
    /// and says how many instances answer it; then waits at most `timeout`
    /// for their answers ([`gather`](Self::gather)).
    pub(crate) async fn ask<F>(
        &self,
        instance: &[u8; 16],
        ask: Ask<'_>,
        timeout: Duration,
        send: impl FnOnce(Vec<u8>) -> F,
    ) -> Result<Gathered, PubSubError>
    where
        F: Future<Output = Result<usize, PubSubError>>,
    {
        let (id, answers) = self.open();
        let sent = match request(instance, id, &ask) {
            Ok(packet) => send(packet).await,
            Err(error) => Err(error),
        };
        match sent {
            Ok(expected) => self.gather(id, expected, answers, timeout).await,
            Err(error) => {
                self.close(id);
                Err(error)
            }
        }
    }

    /// Waits at most `timeout` for the answers to request `id`, which
    /// `expected` other instances answer, then forgets it; an instance that
    /// did not answer in time fails it ([`timed_out`]).
    async fn gather(
        &self,
        id: u64,
        expected: usize,
        answers: oneshot::Receiver<Gathered>,
        timeout: Duration,
    ) -> Result<Gathered, PubSubError> {
        self.expect(id, expected);
        let gathered = tokio::time::timeout(timeout, answers).await;
        let (answered, expected) = self.close(id);
        match gathered {
            Ok(Ok(gathered)) => Ok(gathered),
            _ => Err(timed_out(timeout, answered, expected)),
        }
    }

    /// Forgets a request; how many answered of how many expected.
    pub(crate) fn close(&self, id: u64) -> (usize, Option<usize>) {
        lock(&self.open).remove(&id).map_or((0, None), |request| (request.answered, request.expected))
    }
}

/// The packet of a request: a command for `socket`, or a count.
fn request(instance: &[u8; 16], id: u64, ask: &Ask<'_>) -> Result<Vec<u8>, PubSubError> {
    let serialized = match ask {
        Ask::Command(_, command) => serde_json::to_string(command),
        Ask::Count(query) => serde_json::to_string(query),
    };
    let body = serialized.map_err(|e| PubSubError::Serialize(e.to_string()))?;
    let (kind, socket) = match ask {
        Ask::Command(socket, _) => (Kind::Command, Some(*socket)),
        Ask::Count(_) => (Kind::Count, None),
    };
    Ok(packet::encode(kind, instance, socket, &Outbound::text(&format!("{id}\n{body}"))))
}

/// What is asked of the other instances.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ask<'a> {
    /// A command for the socket.
    Command(SocketId, &'a SocketCommand),
    /// A count.
    Count(&'a CountQuery),
}

/// What a command's answers say: `Ok(true)` done where the socket is,
/// `Ok(false)` held nowhere, or the holder's error.
pub(crate) fn command_outcome(gathered: &Gathered) -> Result<bool, PubSubError> {
    match &gathered.held {
        None => Ok(false),
        Some(Ok(())) => Ok(true),
        Some(Err(error)) => Err(PubSubError::Remote(error.clone())),
    }
}

/// The error of a request some instances did not answer in time.
fn timed_out(timeout: Duration, answered: usize, expected: Option<usize>) -> PubSubError {
    let expected = expected.unwrap_or(answered);
    PubSubError::Backend(format!(
        "{} of {expected} other instances did not answer within {timeout:?}",
        expected.saturating_sub(answered)
    ))
}

/// Answers a command another instance asked: runs it here if the socket is,
/// and hands the answer's packet to `send` (at once when the socket is not
/// here, as for most instances; else once it ran). `false`: not a command.
pub(crate) fn on_command(
    instance: [u8; 16],
    context: &BackendContext,
    packet: &Packet,
    send: impl FnOnce(Vec<u8>) + Send + 'static,
) -> bool {
    let (Some(socket), Some((id, body))) = (packet.socket, split(&packet.message)) else { return false };
    let Ok(command) = serde_json::from_str::<SocketCommand>(body) else { return false };
    let mut running = context.run_command(socket, command);
    match (&mut running).now_or_never() {
        Some(outcome) => send(answer(&instance, id, &answer_of(outcome))),
        None => {
            tokio::spawn(async move {
                let outcome = running.await;
                send(answer(&instance, id, &answer_of(outcome)));
            });
        }
    }
    true
}

/// The answer's packet to a count another instance asked; `None`: not a count.
pub(crate) fn on_count(instance: &[u8; 16], context: &BackendContext, packet: &Packet) -> Option<Vec<u8>> {
    let (id, body) = split(&packet.message)?;
    let query = serde_json::from_str::<CountQuery>(body).ok()?;
    Some(answer(instance, id, &Answer::Count(context.count(&query))))
}

/// Records an answer to one of this instance's requests; `false`: not an answer.
pub(crate) fn on_answer(requests: &Requests, packet: &Packet) -> bool {
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
    requests.answer(id, answer);
    true
}

fn answer_of(outcome: Option<Result<(), PubSubError>>) -> Answer {
    match outcome {
        None => Answer::Absent,
        Some(Ok(())) => Answer::Done,
        Some(Err(error)) => Answer::Failed(error.to_string()),
    }
}

fn answer(instance: &[u8; 16], id: u64, answer: &Answer) -> Vec<u8> {
    let text = match answer {
        Answer::Done => format!("{id}\ndone"),
        Answer::Absent => format!("{id}\nabsent"),
        Answer::Failed(error) => format!("{id}\nfailed\n{error}"),
        Answer::Count(n) => format!("{id}\ncount\n{n}"),
    };
    packet::encode(Kind::Answer, instance, None, &Outbound::text(&text))
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
