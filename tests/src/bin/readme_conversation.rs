//! Holds one of README's conversations with a running server:
//! `readme_conversation "Getting started" ws://127.0.0.1:3000/ws`, or
//! `readme_conversation "A tour" 'ws://127.0.0.1:3000/ws?token=ada'`. CI's
//! fresh-crate stage runs it against the apps built from README alone; it
//! panics (naming the request whose reply differs) unless every reply is
//! README's.

use ori_tests::WsClient;
use ori_tests::readme::{conversation, hold_conversation, section};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(url)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: readme_conversation SECTION URL (readme_conversation \"Getting started\" ws://127.0.0.1:3000/ws)"
        );
        std::process::exit(2);
    };
    let section = section(&name);
    let mut client = WsClient::connect(&url).await;
    hold_conversation(&mut client, section).await;
    for (request, reply) in conversation(section) {
        println!("-> {request}\n<- {reply}");
    }
    println!("readme_conversation: {url} answered the conversation of README's {name:?}");
}
