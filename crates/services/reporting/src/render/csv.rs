//! The document's data table as CSV (RFC 4180, a header row, UTF-8).

use crate::document::Table;

pub fn render(table: &Table) -> Vec<u8> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    // Writing to memory cannot fail; a row of the wrong width is a bug in `build`.
    w.write_record(&header).expect("csv header");
    for row in &table.rows {
        w.write_record(row.iter().map(|c| defuse(c).into_owned()))
            .expect("csv row");
    }
    w.into_inner().expect("csv into memory")
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a leading
/// apostrophe (OWASP's advice on CSV injection); numbers, negative ones included, pass.
fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '@', '\t', '\r'])
        || (cell.starts_with('-') && cell.parse::<f64>().is_err());
    if risky {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_it_and_defuses_formulas() {
        let mut t = Table::new(&[("name", false), ("value", true)]);
        t.push(vec!["a, \"b\"".into(), "-12.5".into()]);
        t.push(vec!["=HYPERLINK(\"x\")".into(), "3".into()]);
        let text = String::from_utf8(render(&t)).unwrap();
        assert_eq!(
            text,
            "name,value\n\"a, \"\"b\"\"\",-12.5\n\"'=HYPERLINK(\"\"x\"\")\",3\n"
        );
    }
}
