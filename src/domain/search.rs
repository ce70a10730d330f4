//! A free-text search as the words to look up: lower case, split at anything but
//! letters and digits, each matched as the start of a word (see
//! migrations/0012_search.sql, whose `search_words` splits stored text the same way).

/// At most this many words are looked up; the rest of a long query is ignored.
const MAX_WORDS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchWords(Vec<String>);

impl SearchWords {
    /// The words of `query`, or None when it holds no letters or digits.
    pub fn parse(query: &str) -> Option<SearchWords> {
        let mut words: Vec<String> = Vec::new();
        for word in query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let word: String = word.to_lowercase().chars().take(100).collect();
            if !words.contains(&word) {
                words.push(word);
            }
        }
        words.truncate(MAX_WORDS);
        (!words.is_empty()).then_some(SearchWords(words))
    }

    pub fn words(&self) -> &[String] {
        &self.0
    }

    /// For each word, the first text after every text that starts with it: a word
    /// matches when `word <= stored < bound` in byte order (COLLATE "C").
    pub fn bounds(&self) -> Vec<String> {
        self.0.iter().map(|w| format!("{w}\u{10FFFF}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_distinct_lower_case_words() {
        let w = SearchWords::parse("  Church ROAD, church-road ").unwrap();
        assert_eq!(w.words(), ["church", "road"]);
        assert_eq!(
            SearchWords::parse("SW1A 1AA").unwrap().words(),
            ["sw1a", "1aa"]
        );
        assert_eq!(
            SearchWords::parse("Zoë O'Neill").unwrap().words(),
            ["zoë", "o", "neill"]
        );
        assert_eq!(SearchWords::parse(" -- % "), None);
    }
}
