//! RFC 6455 and RFC 7692 bytes, below everything that knows ori's envelopes:
//! the frame format ([`frame`]: opcodes, client headers, masking, close
//! frames), building server frames in one allocation ([`frame_buf`]),
//! permessage-deflate ([`deflate`]), and UTF-8 checked as a text message
//! arrives ([`utf8`]).

pub(crate) mod deflate;
pub(crate) mod frame;
pub(crate) mod frame_buf;
pub(crate) mod utf8;
