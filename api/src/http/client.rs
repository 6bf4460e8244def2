//! The client address every throttle keys on (API.md, "Conventions added"): the
//! TCP peer, unless the peer is a trusted proxy (`TRUSTED_PROXIES`, CIDRs, none by
//! default); then the rightmost address of `X-Forwarded-For` that is not a
//! trusted proxy. Entries left of the first untrusted one are the client's own
//! claims and are never believed.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// Parses `TRUSTED_PROXIES`: comma-separated CIDRs or single addresses.
pub fn parse_trusted(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is neither a CIDR (10.0.0.0/8) nor an address"))
        })
        .collect()
}

/// The client address of `req`.
pub fn address(req: &HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    resolve(peer, forwarded, trusted)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The rule on plain values: `forwarded` are the `X-Forwarded-For` header
/// values in the order received.
pub fn resolve<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    let peer = canonical(peer);
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !is_trusted(client) {
                    return client;
                }
            }
            // Garbage where an address belongs: the last trusted hop is the
            // best known address.
            Err(_) => return client,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let got = resolve(ip("203.0.113.9"), ["1.2.3.4"].into_iter(), &[]);
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = parse_trusted("10.0.0.0/8, 192.168.1.1").unwrap();
        let at =
            |peer: &str, headers: &[&str]| resolve(ip(peer), headers.iter().copied(), &trusted);
        // A client that forges a left part of the header gains nothing.
        assert_eq!(
            at("10.0.0.2", &["6.6.6.6, 198.51.100.7"]),
            ip("198.51.100.7")
        );
        // Two proxies, two header lines.
        assert_eq!(
            at("10.0.0.2", &["198.51.100.7", "10.1.1.1"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            at("192.168.1.1", &["198.51.100.7, 10.9.9.9"]),
            ip("198.51.100.7")
        );
        // No header, or only trusted hops: the leftmost known hop.
        assert_eq!(at("10.0.0.2", &[]), ip("10.0.0.2"));
        assert_eq!(at("10.0.0.2", &["10.3.3.3"]), ip("10.3.3.3"));
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(at("10.0.0.2", &["198.51.100.7, unknown"]), ip("10.0.0.2"));
        // An untrusted peer is the client even with a header.
        assert_eq!(at("198.51.100.8", &["1.1.1.1"]), ip("198.51.100.8"));
        // IPv4-mapped IPv6 peers count as their IPv4 address.
        assert_eq!(at("::ffff:10.0.0.2", &["198.51.100.7"]), ip("198.51.100.7"));
    }

    #[test]
    fn trusted_proxies_must_parse() {
        assert_eq!(parse_trusted("").unwrap(), Vec::<IpNet>::new());
        assert!(parse_trusted("10.0.0.0/8,fd00::/8,127.0.0.1").is_ok());
        assert!(parse_trusted("10.0.0.0/33").is_err());
        assert!(parse_trusted("proxy.local").is_err());
    }
}
