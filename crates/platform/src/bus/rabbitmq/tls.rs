//! TLS to RabbitMQ (`amqps://`): the CA the broker's certificate must chain to (besides the
//! system's roots) and, when the broker asks for one (`ssl_options.fail_if_no_peer_cert`),
//! this process's client certificate. Operators hold PEM files (`bus.tls_client_cert_file`,
//! `bus.tls_client_key_file`: what a Kubernetes TLS secret holds); lapin's TLS stack takes
//! a client identity as PKCS#12 only, so the pair is packed into one in memory, under a
//! password of its own that never leaves the process.

use std::path::Path;

use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKeyChain};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::bus::BusError;

/// What `amqps://` uses: the CA (PEM) and the client identity, each optional.
#[derive(Clone, Default)]
pub struct AmqpTls {
    ca: Option<String>,
    client: Option<ClientIdentity>,
}

#[derive(Clone)]
struct ClientIdentity {
    pkcs12: Vec<u8>,
    password: String,
}

impl AmqpTls {
    /// From the files the configuration names (`bus.tls_ca_file`, and the client
    /// certificate and key, both or neither); a file that cannot be read or does not hold
    /// what it should is refused, naming its key.
    pub fn from_files(ca: Option<&Path>, client: Option<(&Path, &Path)>) -> Result<Self, BusError> {
        let read = |key: &str, path: &Path| {
            std::fs::read(path)
                .map_err(|e| BusError::Backend(format!("reading {key} {}: {e}", path.display())))
        };
        let ca = match ca {
            Some(path) => Some(String::from_utf8(read("bus.tls_ca_file", path)?).map_err(
                |_| BusError::Backend(format!("bus.tls_ca_file {} is not PEM", path.display())),
            )?),
            None => None,
        };
        let client = match client {
            Some((cert, key)) => Some(ClientIdentity::from_pem(
                &read("bus.tls_client_cert_file", cert)?,
                &read("bus.tls_client_key_file", key)?,
            )?),
            None => None,
        };
        Ok(Self { ca, client })
    }

    /// As lapin takes it.
    pub(super) fn owned(&self) -> lapin::tcp::OwnedTLSConfig {
        lapin::tcp::OwnedTLSConfig {
            identity: self.client.as_ref().map(|c| lapin::tcp::OwnedIdentity {
                der: c.pkcs12.clone(),
                password: c.password.clone(),
            }),
            cert_chain: self.ca.clone(),
        }
    }
}

impl ClientIdentity {
    /// The certificate chain (leaf first) and its PKCS#8 key, packed as PKCS#12.
    fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, BusError> {
        let bad = |key: &str, why: &str| BusError::Backend(format!("{key}: {why}"));
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("bus.tls_client_cert_file", &format!("not PEM ({e})")))?;
        if chain.is_empty() {
            return Err(bad("bus.tls_client_cert_file", "holds no certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
            bad(
                "bus.tls_client_key_file",
                &format!("holds no private key ({e})"),
            )
        })?;
        let PrivateKeyDer::Pkcs8(key) = key else {
            return Err(bad(
                "bus.tls_client_key_file",
                "the key must be PKCS#8 (BEGIN PRIVATE KEY); convert it with \
                 `openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.pk8.pem`",
            ));
        };
        let chain = chain
            .iter()
            .map(|c| Certificate::from_der(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                bad(
                    "bus.tls_client_cert_file",
                    &format!("not a certificate ({e})"),
                )
            })?;
        // Any id pairs the key with its certificate inside the archive.
        let local_key_id = ring::digest::digest(&ring::digest::SHA256, chain[0].as_der());
        let mut store = KeyStore::new();
        store.add_entry(
            "lanerunner",
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
                key.secret_pkcs8_der(),
                &local_key_id.as_ref()[..20],
                chain,
            )),
        );
        let mut secret = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
            .map_err(|_| BusError::Backend("the system random generator failed".into()))?;
        let password = secret
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let pkcs12 = store
            .writer(&password)
            .write()
            .map_err(|e| BusError::Backend(format!("packing the client certificate: {e}")))?;
        Ok(Self { pkcs12, password })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["lanerunner".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_pem_pair_is_packed_as_pkcs12_that_opens_to_the_same_key_and_certificate() {
        let (cert, key) = pair();
        let id = ClientIdentity::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        let opened = KeyStore::from_pkcs12(&id.pkcs12, &id.password).unwrap();
        let (_, chain) = opened.private_key_chain().expect("a key and its chain");
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        assert_eq!(chain.chain()[0].as_der(), der.as_ref());
        let key_der = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        assert_eq!(chain.key(), key_der.secret_der());
        assert!(KeyStore::from_pkcs12(&id.pkcs12, "another password").is_err());
    }

    #[test]
    fn what_is_not_a_certificate_or_a_pkcs8_key_is_refused_naming_the_file() {
        let (cert, key) = pair();
        let err = |r: Result<ClientIdentity, BusError>| r.err().expect("refused").to_string();
        let e = err(ClientIdentity::from_pem(b"not pem", key.as_bytes()));
        assert!(e.contains("bus.tls_client_cert_file"), "{e}");
        let e = err(ClientIdentity::from_pem(cert.as_bytes(), b"no key here"));
        assert!(e.contains("bus.tls_client_key_file"), "{e}");
        // An EC key in SEC1 form ("BEGIN EC PRIVATE KEY"): says how to convert it.
        let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBYr\n-----END EC PRIVATE KEY-----\n";
        let e = err(ClientIdentity::from_pem(cert.as_bytes(), sec1.as_bytes()));
        assert!(
            e.contains("bus.tls_client_key_file") && e.contains("PKCS#8"),
            "{e}"
        );
    }
}
