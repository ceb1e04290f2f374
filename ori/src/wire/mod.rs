//! RFC 6455 and RFC 7692 bytes, below everything that knows ori's envelopes:
//! the frame ([`frame`]: opcodes, server frames built in one allocation,
//! client headers and masking, close frames), the per-thread memory reply
//! frames are cut from ([`arena`]), permessage-deflate ([`deflate`]), and
//! UTF-8 checked as a text message arrives ([`utf8`]).

pub(crate) mod arena;
pub(crate) mod deflate;
pub(crate) mod frame;
pub(crate) mod utf8;
