//! The interface language and how a request chooses it.

/// The interface language, chosen from `?lang=` or `Accept-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
}

impl Lang {
    /// Picks the language: an explicit `?lang=` wins, then the first of `fr`/`en` in
    /// `Accept-Language` by preference, then English.
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Self {
        match query {
            Some("fr") => return Lang::Fr,
            Some("en") => return Lang::En,
            _ => {}
        }
        let mut best: Option<(f32, Lang)> = None;
        for part in accept_language.unwrap_or("").split(',') {
            let mut fields = part.trim().split(';');
            let tag = fields.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = fields
                .find_map(|f| {
                    f.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("fr") => Lang::Fr,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    /// The BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_query_then_preferences() {
        assert_eq!(Lang::choose(Some("fr"), Some("en")), Lang::Fr);
        assert_eq!(
            Lang::choose(None, Some("fr-FR,fr;q=0.9,en;q=0.8")),
            Lang::Fr
        );
        assert_eq!(Lang::choose(None, Some("de,en;q=0.5,fr;q=0.4")), Lang::En);
        assert_eq!(Lang::choose(None, Some("en;q=0.2, fr;q=0.9")), Lang::Fr);
        assert_eq!(Lang::choose(Some("xx"), None), Lang::En);
    }
}
