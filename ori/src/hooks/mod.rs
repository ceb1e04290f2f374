//! What decides whether a connection or a message may go on: connection and
//! message guards, the upgrade handler, the topic authorizer.

pub(crate) mod authorizer;
pub(crate) mod guard;
pub(crate) mod upgrade;

pub use authorizer::TopicAuthorizer;
pub use guard::{ConnectionGuard, MessageGuard, Reject};
pub use upgrade::{IntoUpgradeOutcome, UpgradeRequest};
