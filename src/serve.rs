//! Serving connections: time limits for slow clients, a cap on open connections, and a
//! shutdown with a deadline.
//!
//! - A client must send a request's headers within `HEADER_READ_TIMEOUT_SECS` (10 s) of
//!   the connection opening or of its previous answer; otherwise the connection is closed.
//!   With HTTP/1 the same limit closes an idle kept-alive connection.
//! - At most `MAX_CONNECTIONS` (1,000) connections are open at once; beyond that new ones
//!   wait in the listen queue until one closes.
//! - After SIGTERM or Ctrl-C no new connection is accepted, requests in flight get up to
//!   `SHUTDOWN_GRACE_SECS` (25 s; Heroku sends SIGKILL at 30 s), then the rest are dropped
//!   and serving returns.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{Router, extract::ConnectInfo};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

use crate::config::Config;

/// The limits [`serve`] applies, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

impl From<&Config> for ServeLimits {
    fn from(config: &Config) -> Self {
        ServeLimits {
            header_read_timeout: config.header_read_timeout,
            max_connections: config.max_connections,
            shutdown_grace: config.shutdown_grace,
        }
    }
}

/// Serves `app` on `listener` until SIGTERM or Ctrl-C (see the module's documentation).
pub async fn serve(listener: TcpListener, app: Router, limits: ServeLimits) -> std::io::Result<()> {
    serve_until(listener, app, limits, shutdown_signal()).await
}

/// Like [`serve`], stopping when `stop` completes.
pub async fn serve_until(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)));
    let builder = Arc::new(builder);
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);

    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit.expect("never closed"),
            () = &mut stop => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                app.clone().oneshot(request.map(axum::body::Body::new))
            },
        );
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are clients going away or timing out: nothing to act on.
            let _ = connection.await;
            drop(permit);
        });
    }

    drop(listener);
    tracing::info!(
        grace_secs = limits.shutdown_grace.as_secs(),
        "shutting down: finishing requests in flight"
    );
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace period: dropping them");
    }
    Ok(())
}

/// SIGTERM (Heroku, systemd) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
