//! The floor a page is compared with: the very statements one request of the page sends
//! to PostgreSQL, with the very values, captured from PostgreSQL's own statement log
//! while the real app serves the page to a signed-in user, then replayed by pgbench.
//!
//! Capture: `log_statement = 'all'` is set for the bench database (as the superuser), the
//! app's connections are closed so that new ones take the setting, the page is requested
//! until it answers well again, and then once more; the lines PostgreSQL wrote for the
//! app's role and this database during that one request are the request's statements.
//! Statements the app prepared (`execute <name>: ...` with `Parameters: $1 = '...'`) are
//! replayed prepared, with their values as pgbench variables, so they are sent as bound
//! parameters exactly as the app sends them. Statements the app sent together as one
//! simple query (`statement: BEGIN; SET LOCAL ...`) are sent one by one: pgbench cannot
//! send several statements in one command in prepared mode, so the floor makes a round
//! trip more for each (which flatters the page a little).

use std::path::PathBuf;

/// One statement as PostgreSQL logged it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub sql: String,
    /// `Some` for a statement the app prepared (its bound values, `None` for SQL NULL).
    pub params: Option<Vec<Option<String>>>,
}

/// Where PostgreSQL writes its log (Debian's default; BENCH_PG_LOG elsewhere).
pub fn log_path() -> PathBuf {
    std::env::var_os("BENCH_PG_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/var/log/postgresql/postgresql-15-main.log".into())
}

/// The log's length now, to read only what is written after it.
pub fn log_len() -> u64 {
    std::fs::metadata(log_path())
        .unwrap_or_else(|e| {
            panic!(
                "cannot read PostgreSQL's log {:?} (set BENCH_PG_LOG): {e}",
                log_path()
            )
        })
        .len()
}

/// Every statement logged since `from` by `role` in database `db`, in order.
pub fn logged_since(from: u64, role: &str, db: &str) -> Vec<Logged> {
    let bytes = std::fs::read(log_path()).unwrap();
    let text = String::from_utf8_lossy(&bytes[from as usize..]);
    // A log entry starts with a timestamp; the lines after it that do not are its text.
    let mut entries: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.len() > 4 && line.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
            entries.push(line.to_owned());
        } else if let Some(last) = entries.last_mut() {
            last.push('\n');
            last.push_str(line.strip_prefix('\t').unwrap_or(line));
        }
    }
    let ours = format!("] {role}@{db} ");
    let mut out: Vec<Logged> = Vec::new();
    for entry in entries.iter().filter(|e| e.contains(&ours)) {
        let body = &entry[entry.find(&ours).unwrap() + ours.len()..];
        if let Some(sql) = body.strip_prefix("LOG:  statement: ") {
            out.push(Logged {
                sql: sql.to_owned(),
                params: None,
            });
        } else if let Some(rest) = body.strip_prefix("LOG:  execute ") {
            let sql = &rest[rest.find(": ").expect("execute <name>: <sql>") + 2..];
            out.push(Logged {
                sql: sql.to_owned(),
                params: Some(Vec::new()),
            });
        } else if let Some(values) = body.strip_prefix("DETAIL:  Parameters: ") {
            let last = out.last_mut().expect("parameters follow their statement");
            last.params = Some(parse_parameters(values));
        }
    }
    out
}

/// `$1 = 'a', $2 = NULL, $3 = 'it''s'` → the values in order.
fn parse_parameters(text: &str) -> Vec<Option<String>> {
    let mut values = Vec::new();
    let mut rest = text;
    while let Some(eq) = rest.find(" = ") {
        rest = &rest[eq + 3..];
        if let Some(after) = rest.strip_prefix("NULL") {
            values.push(None);
            rest = after;
        } else {
            let mut value = String::new();
            let mut chars = rest[1..].char_indices();
            let mut end = rest.len();
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if rest[1 + i + 1..].starts_with('\'') {
                        value.push('\'');
                        chars.next();
                    } else {
                        end = 1 + i + 1;
                        break;
                    }
                } else {
                    value.push(c);
                }
            }
            values.push(Some(value));
            rest = &rest[end..];
        }
    }
    values
}

/// A pgbench script of `statements` and the `-D name=value` definitions its variables need.
pub fn pgbench_script(statements: &[Logged]) -> (String, Vec<String>) {
    let mut script = String::new();
    let mut defines = Vec::new();
    for (n, s) in statements.iter().enumerate() {
        let mut sql = s.sql.trim_end().trim_end_matches(';').to_owned();
        match &s.params {
            Some(values) => {
                for (i, value) in values.iter().enumerate().rev() {
                    let name = format!("s{n}p{}", i + 1);
                    match value {
                        Some(v) => {
                            defines.push(format!("{name}={v}"));
                            sql = sql.replace(&format!("${}", i + 1), &format!(":{name}"));
                        }
                        None => sql = sql.replace(&format!("${}", i + 1), "NULL"),
                    }
                }
            }
            // pgbench cannot send several statements as one command in prepared mode:
            // each goes on its own (a round trip more each than the app's one query).
            None => sql = sql.replace("; ", ";\n"),
        }
        script.push_str(&sql);
        script.push_str(";\n");
    }
    (script, defines)
}
