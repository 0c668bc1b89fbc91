//! The parameters of an Etherpad API call, as Etherpad takes them: from the query string and an
//! `application/x-www-form-urlencoded` body, the body's value winning over the query's (as in
//! Etherpad's `Object.assign(query, formData)`), the first of repeated names winning within one.

use std::collections::HashMap;

/// Most parameters one call keeps (Etherpad's functions take at most four, plus the key).
const MAX_PARAMS: usize = 32;

/// The named parameters of one call.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Adds the pairs of `encoded` (`a=1&b=2`, `+` for spaces, `%XX` escapes); a pair already
    /// given by this same source is kept, one from an earlier source is replaced. Invalid
    /// UTF-8 after decoding is an error naming the parameter.
    pub fn add_encoded(&mut self, encoded: &[u8]) -> Result<(), String> {
        let mut seen = HashMap::new();
        for pair in encoded.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            if seen.len() >= MAX_PARAMS {
                return Err(format!("more than {MAX_PARAMS} parameters"));
            }
            let (key, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            let key = String::from_utf8(decode(key))
                .map_err(|_| "a parameter name is not valid UTF-8".to_owned())?;
            let value = String::from_utf8(decode(value))
                .map_err(|_| format!("{key} is not valid UTF-8"))?;
            seen.entry(key).or_insert(value);
        }
        self.0.extend(seen);
        Ok(())
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name`, or code 1's "`name` is required".
    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.get(name).ok_or_else(|| format!("{name} is required"))
    }

    /// The value of `name` as a non-negative integer, if given and not empty.
    pub fn number(&self, name: &str) -> Result<Option<u64>, String> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|_| format!("{name} is not a non-negative integer")),
        }
    }
}

/// Percent-decodes `raw`, `+` being a space; a `%` not followed by two hex digits stays as is.
fn decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3).and_then(|h| {
                    let h = std::str::from_utf8(h).ok()?;
                    u8::from_str_radix(h, 16).ok()
                });
                if let Some(byte) = hex {
                    out.push(byte);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_decode_and_the_body_wins_over_the_query() {
        let mut p = Params::default();
        p.add_encoded(b"padID=a%20b&text=x+y&padID=second&flag&pct=100%")
            .expect("query");
        assert_eq!(p.get("padID"), Some("a b"));
        assert_eq!(p.get("text"), Some("x y"));
        assert_eq!(p.get("flag"), Some(""));
        assert_eq!(p.get("pct"), Some("100%"));
        p.add_encoded(b"text=%C3%A9t%C3%A9").expect("body");
        assert_eq!(p.get("text"), Some("été"));
        assert_eq!(p.required("nope"), Err("nope is required".to_owned()));
    }

    #[test]
    fn bad_input_is_refused_with_its_name() {
        let mut p = Params::default();
        assert_eq!(
            p.add_encoded(b"text=%FF"),
            Err("text is not valid UTF-8".to_owned())
        );
        let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("k{i}=v")).collect();
        assert!(p.add_encoded(many.join("&").as_bytes()).is_err());
        let mut p = Params::default();
        p.add_encoded(b"rev=12&start=&end=x").expect("parses");
        assert_eq!(p.number("rev"), Ok(Some(12)));
        assert_eq!(p.number("start"), Ok(None));
        assert!(p.number("end").is_err());
    }
}
