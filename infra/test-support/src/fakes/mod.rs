//! Local HTTP servers that answer like the services Mizan calls and that are outside our
//! control: Meta's Graph API and an OpenAI-compatible chat-completions server, error bodies
//! included. Each records what it was sent.

pub mod graph;
pub mod model;

use std::net::SocketAddr;

/// Serves `router` on a free loopback port until the test ends.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}
