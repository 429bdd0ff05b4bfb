//! A document as written, before it is a file: headed sections of key figures, cards,
//! charts, tables and notes for the PDF, and (for reports) one flat table of raw values
//! for the CSV.

use crate::image::Image;

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    /// Under the title: what the report covers and when it was made.
    pub subtitle: String,
    pub sections: Vec<Section>,
    /// The CSV: one row per fact, values unformatted (cents, RFC 3339, ratios).
    pub data: Table,
    /// Drawn at the top right of the first page (an organization's letterhead).
    pub logo: Option<Image>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Label and value pairs, laid out in a row of boxes.
    Figures(Vec<(String, String)>),
    Chart(Chart),
    Table(Table),
    Note(String),
    /// Boxes side by side, two to a row, each a heading over lines of text (the parties
    /// to a load, its stops).
    Cards(Vec<Card>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub heading: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChartKind {
    /// Lines through the points of each series, gaps where a value is missing, and the
    /// band (low to high) shaded behind them.
    Line,
    /// One bar per label for the first series.
    Bar,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub kind: ChartKind,
    pub title: String,
    /// How to print an axis value, e.g. `$%` for dollars.
    pub unit: Unit,
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    /// Low and high per label, for a line chart's shaded range.
    pub band: Option<Vec<Option<(f64, f64)>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Dollars,
    Percent,
    Count,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Dollars => format!("${v:.2}"),
            Unit::Percent => format!("{v:.0}%"),
            Unit::Count => format!("{v:.0}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// Numbers are right-aligned.
    pub numeric: bool,
}

impl Table {
    pub fn new(columns: &[(&str, bool)]) -> Self {
        Table {
            columns: columns
                .iter()
                .map(|(name, numeric)| Column {
                    name: (*name).to_string(),
                    numeric: *numeric,
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }
}
