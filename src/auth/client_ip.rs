//! The client's IP address: the TCP peer, or, only when `TRUST_PROXY` is set,
//! the address the trusted proxy appended to X-Forwarded-For (the last entry;
//! earlier entries are whatever the client claimed and are ignored).

use std::net::{IpAddr, SocketAddr};

use axum::{extract::ConnectInfo, http::request::Parts};

pub fn client_ip(parts: &Parts, trust_proxy: bool) -> Option<IpAddr> {
    let forwarded = trust_proxy
        .then(|| {
            let header = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .next_back()?;
            header.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
        })
        .flatten();
    forwarded.or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    })
}
