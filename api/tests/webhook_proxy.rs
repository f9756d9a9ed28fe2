//! Finding 1: proxy variables in the API's environment must not carry webhook calls (a
//! proxy inside the network would reach what the address check refuses). Its own binary:
//! the variables are set before any thread exists.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::hooks::{hook, queue, queue_db, receiver, until};
use dreamster_api::webhooks::{self, Reach, Settings};

#[test]
fn proxy_variables_are_ignored() {
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").expect("proxy port");
    let proxy_url = format!("http://{}", proxy.local_addr().expect("addr"));
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        std::env::set_var(var, &proxy_url);
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    proxy.set_nonblocking(true).expect("nonblocking");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let db = queue_db().await;
        let (url, got) = receiver(StatusCode::OK, Duration::ZERO).await;
        hook(&db, 1, &url).await;
        let ids = queue(&db, 1, 1).await;
        let dispatcher = webhooks::spawn(
            db.pool().clone(),
            Settings {
                reach: Reach::AlsoLoopback,
                ..Settings::default()
            },
        );
        until(30, "the call reached the receiver", || async {
            !got.lock().expect("lock").is_empty()
        })
        .await;
        dispatcher.stop().await;
        assert_eq!(
            *got.lock().expect("lock"),
            ids,
            "delivered straight to the receiver"
        );
    });
    assert!(
        proxy.accept().is_err(),
        "a call went through the proxy from the environment"
    );
}
