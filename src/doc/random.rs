//! Secure randomness for names, tokens, secrets and nonces.

/// `N` bytes from the operating system's secure random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // Without an entropy source there is no safe secret to hand out: failing loudly beats
    // issuing a guessable link or nonce.
    getrandom::fill(&mut bytes).expect("the OS provides random bytes");
    bytes
}

/// 128 random bits as 32 lowercase hex digits: read-only tokens, CSP nonces.
pub fn random_hex() -> String {
    random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
