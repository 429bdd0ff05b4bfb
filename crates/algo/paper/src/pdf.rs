//! The document as a PDF a person reads: US Letter pages, Helvetica (one of the 14 fonts
//! every reader has, so nothing is embedded), charts drawn as vector paths, tables that
//! continue on the next page under a repeated header, and "page n of N" on every page.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::image::{Image, ImageData};
use crate::{Block, Card, Chart, ChartKind, Document, Table, Unit};

const WIDTH: f32 = 612.0;
const HEIGHT: f32 = 792.0;
const MARGIN: f32 = 50.0;
const CONTENT_WIDTH: f32 = WIDTH - 2.0 * MARGIN;
const FOOTER_Y: f32 = 28.0;

const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");
const LOGO: Name = Name(b"Im1");
/// The box a logo is fitted into, top right of the first page.
const LOGO_BOX: (f32, f32) = (150.0, 48.0);

const INK: (f32, f32, f32) = (0.13, 0.15, 0.18);
const MUTED: (f32, f32, f32) = (0.42, 0.45, 0.5);
const RULE: (f32, f32, f32) = (0.82, 0.84, 0.87);
const PALETTE: [(f32, f32, f32); 3] = [(0.12, 0.40, 0.75), (0.85, 0.45, 0.10), (0.20, 0.60, 0.35)];

/// Helvetica's advance widths (thousandths of the font size) for ASCII 32–126, from
/// Adobe's font metrics; anything else is measured as a digit.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// The width of `text` in points at `size` (bold is about 5 % wider).
fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| {
            let i = c as u32;
            if (32..127).contains(&i) {
                u32::from(HELVETICA[(i - 32) as usize])
            } else {
                556
            }
        })
        .sum();
    units as f32 * size / 1000.0 * if bold { 1.05 } else { 1.0 }
}

/// `text` in WinAnsiEncoding: Latin-1 passes, dashes and quotes map to ASCII, anything
/// else (CJK, emoji) becomes `?` rather than garbage.
fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{2013}' | '\u{2014}' | '\u{2212}' => b'-',
            '\u{2018}' | '\u{2019}' => b'\'',
            '\u{201c}' | '\u{201d}' => b'"',
            c if (c as u32) < 0x20 => b' ',
            c if (c as u32) < 0x7f || (0xa0..=0xff).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// The pages being filled, top to bottom.
struct Pages {
    done: Vec<Content>,
    page: Content,
    /// The baseline the next block starts under.
    y: f32,
}

impl Pages {
    fn new() -> Self {
        Pages {
            done: Vec::new(),
            page: Content::new(),
            y: HEIGHT - MARGIN,
        }
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn room_for(&mut self, height: f32) {
        if self.y - height < MARGIN + 10.0 {
            let full = std::mem::replace(&mut self.page, Content::new());
            self.done.push(full);
            self.y = HEIGHT - MARGIN;
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, color: (f32, f32, f32), s: &str) {
        let c = &mut self.page;
        c.set_fill_rgb(color.0, color.1, color.2);
        c.begin_text();
        c.set_font(if bold { BOLD } else { REGULAR }, size);
        c.next_line(x, y);
        c.show(Str(&encode(s)));
        c.end_text();
    }

    fn text_right(
        &mut self,
        right: f32,
        y: f32,
        size: f32,
        bold: bool,
        color: (f32, f32, f32),
        s: &str,
    ) {
        let w = text_width(s, size, bold);
        self.text(right - w, y, size, bold, color, s);
    }

    fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, color: (f32, f32, f32)) {
        let c = &mut self.page;
        c.set_stroke_rgb(color.0, color.1, color.2);
        c.set_line_width(width);
        c.move_to(from.0, from.1);
        c.line_to(to.0, to.1);
        c.stroke();
    }

    fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: (f32, f32, f32)) {
        let c = &mut self.page;
        c.set_fill_rgb(color.0, color.1, color.2);
        c.rect(x, y, w, h);
        c.fill_nonzero();
    }

    /// Wrapped text, line by line, breaking pages as needed.
    fn paragraph(&mut self, text: &str, size: f32, color: (f32, f32, f32)) {
        let leading = size * 1.35;
        for line in wrap(text, size, CONTENT_WIDTH) {
            self.room_for(leading);
            self.y -= leading;
            self.text(MARGIN, self.y, size, false, color, &line);
        }
    }

    fn finish(mut self) -> Vec<Content> {
        self.done.push(self.page);
        self.done
    }
}

fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, size, false) > width && !line.is_empty() {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The whole document as PDF bytes.
pub fn render(doc: &Document) -> Vec<u8> {
    let mut p = Pages::new();
    if let Some(logo) = &doc.logo {
        let scale = (LOGO_BOX.0 / logo.width as f32).min(LOGO_BOX.1 / logo.height as f32);
        let (w, h) = (logo.width as f32 * scale, logo.height as f32 * scale);
        let c = &mut p.page;
        c.save_state();
        c.transform([
            w,
            0.0,
            0.0,
            h,
            WIDTH - MARGIN - w,
            HEIGHT - MARGIN - h + 8.0,
        ]);
        c.x_object(LOGO);
        c.restore_state();
    }
    p.y -= 20.0;
    p.text(MARGIN, p.y, 20.0, true, INK, &doc.title);
    p.y -= 16.0;
    p.text(MARGIN, p.y, 9.5, false, MUTED, &doc.subtitle);
    p.y -= 10.0;
    for section in &doc.sections {
        p.room_for(60.0);
        p.y -= 24.0;
        p.text(MARGIN, p.y, 13.0, true, INK, &section.heading);
        p.y -= 5.0;
        p.line((MARGIN, p.y), (WIDTH - MARGIN, p.y), 0.6, RULE);
        for block in &section.blocks {
            match block {
                Block::Figures(figures) => draw_figures(&mut p, figures),
                Block::Chart(chart) => draw_chart(&mut p, chart),
                Block::Table(table) => draw_table(&mut p, table),
                Block::Cards(cards) => draw_cards(&mut p, cards),
                Block::Note(note) => {
                    p.y -= 4.0;
                    p.paragraph(note, 8.5, MUTED);
                }
            }
        }
    }
    write(doc, p.finish())
}

fn draw_figures(p: &mut Pages, figures: &[(String, String)]) {
    if figures.is_empty() {
        return;
    }
    let gap = 8.0;
    let n = figures.len() as f32;
    let w = (CONTENT_WIDTH - gap * (n - 1.0)) / n;
    let h = 46.0;
    p.room_for(h + 12.0);
    p.y -= 12.0 + h;
    for (i, (label, value)) in figures.iter().enumerate() {
        let x = MARGIN + i as f32 * (w + gap);
        p.fill_rect(x, p.y, w, h, (0.95, 0.96, 0.98));
        p.text(x + 8.0, p.y + h - 14.0, 7.5, false, MUTED, label);
        p.text(x + 8.0, p.y + 10.0, 15.0, true, INK, value);
    }
}

/// Two cards to a row; a row is as tall as its longest card, lines wrapped to the card.
fn draw_cards(p: &mut Pages, cards: &[Card]) {
    let (gap, pad, size) = (10.0, 8.0, 8.5);
    let leading = size * 1.35;
    let w = (CONTENT_WIDTH - gap) / 2.0;
    for row in cards.chunks(2) {
        let wrapped: Vec<Vec<String>> = row
            .iter()
            .map(|card| {
                card.lines
                    .iter()
                    .flat_map(|l| wrap(l, size, w - 2.0 * pad))
                    .collect()
            })
            .collect();
        let most = wrapped.iter().map(Vec::len).max().unwrap_or(0) as f32;
        let h = 2.0 * pad + 12.0 + most * leading;
        p.room_for(h + 10.0);
        p.y -= 10.0 + h;
        for (i, (card, lines)) in row.iter().zip(&wrapped).enumerate() {
            let x = MARGIN + i as f32 * (w + gap);
            p.fill_rect(x, p.y, w, h, (0.95, 0.96, 0.98));
            let mut y = p.y + h - pad - 8.0;
            p.text(x + pad, y, 8.0, true, MUTED, &card.heading);
            y -= 4.0;
            for line in lines {
                y -= leading;
                p.text(x + pad, y, size, false, INK, line);
            }
        }
    }
}

/// Axis ticks at 1, 2 or 5 times a power of ten, covering `lo..hi`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 5.0)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor();
    let mut out = Vec::new();
    // Each tick counted from the first, so no error accumulates; the last reaches `hi`.
    for i in 0..12 {
        let t = (first + f64::from(i)) * step;
        out.push(t);
        if t >= hi - step * 1e-9 {
            break;
        }
    }
    out
}

fn draw_chart(p: &mut Pages, chart: &Chart) {
    let (plot_h, title_h, label_h) = (170.0, 18.0, 16.0);
    let legend_h = if chart.series.len() > 1 { 14.0 } else { 0.0 };
    p.room_for(title_h + plot_h + label_h + legend_h + 8.0);
    p.y -= title_h;
    p.text(MARGIN, p.y, 9.5, true, INK, &chart.title);
    let values = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .chain(
            chart
                .band
                .iter()
                .flatten()
                .flatten()
                .flat_map(|(lo, hi)| [*lo, *hi]),
        );
    let (mut lo, mut hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return;
    }
    if chart.kind == ChartKind::Bar || chart.unit == Unit::Percent {
        lo = lo.min(0.0);
    } else {
        let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.02).max(0.01);
        lo -= pad;
        hi += pad;
    }
    if chart.unit == Unit::Percent {
        hi = hi.max(100.0);
    }
    let ticks = ticks(lo, hi);
    let (lo, hi) = (ticks[0], *ticks.last().expect("at least one tick"));
    let axis_w = 44.0;
    let (x0, x1) = (MARGIN + axis_w, WIDTH - MARGIN);
    let y1 = p.y - 8.0;
    let y0 = y1 - plot_h;
    let ymap = |v: f64| y0 + ((v - lo) / (hi - lo).max(1e-9)) as f32 * plot_h;
    for t in &ticks {
        let y = ymap(*t);
        p.line((x0, y), (x1, y), 0.4, RULE);
        p.text_right(x0 - 4.0, y - 3.0, 7.0, false, MUTED, &chart.unit.format(*t));
    }
    let n = chart.labels.len().max(1);
    let slot = (x1 - x0) / n as f32;
    let xmap = |i: usize| x0 + slot * (i as f32 + 0.5);
    let every = (n as f32 * 30.0 / (x1 - x0)).ceil().max(1.0) as usize;
    for (i, label) in chart.labels.iter().enumerate() {
        if i % every == 0 {
            let w = text_width(label, 7.0, false);
            p.text(xmap(i) - w / 2.0, y0 - 11.0, 7.0, false, MUTED, label);
        }
    }
    match chart.kind {
        ChartKind::Bar => {
            let series = &chart.series[0];
            let bar = (slot * 0.6).min(40.0);
            for (i, v) in series.values.iter().enumerate() {
                let Some(v) = v else { continue };
                let top = ymap(*v);
                let c = PALETTE[0];
                p.fill_rect(xmap(i) - bar / 2.0, ymap(lo), bar, top - ymap(lo), c);
                let label = chart.unit.format(*v);
                let w = text_width(&label, 7.0, false);
                p.text(xmap(i) - w / 2.0, top + 3.0, 7.0, false, INK, &label);
            }
        }
        ChartKind::Line => {
            if let Some(band) = &chart.band {
                for run in runs(band.iter().map(Option::is_some)) {
                    let c = &mut p.page;
                    c.set_fill_rgb(0.80, 0.87, 0.96);
                    let (start, end) = run;
                    if start == end {
                        let (l, h) = band[start].expect("in a run");
                        c.rect(xmap(start) - 3.0, ymap(l), 6.0, ymap(h) - ymap(l));
                    } else {
                        let (l, _) = band[start].expect("in a run");
                        c.move_to(xmap(start), ymap(l));
                        for (i, b) in band.iter().enumerate().take(end + 1).skip(start + 1) {
                            c.line_to(xmap(i), ymap(b.expect("in a run").0));
                        }
                        for i in (start..=end).rev() {
                            c.line_to(xmap(i), ymap(band[i].expect("in a run").1));
                        }
                        c.close_path();
                    }
                    c.fill_nonzero();
                }
            }
            for (k, series) in chart.series.iter().enumerate() {
                let color = PALETTE[k % PALETTE.len()];
                for (start, end) in runs(series.values.iter().map(Option::is_some)) {
                    let c = &mut p.page;
                    c.set_stroke_rgb(color.0, color.1, color.2);
                    c.set_line_width(1.6);
                    c.move_to(xmap(start), ymap(series.values[start].expect("in a run")));
                    for i in start + 1..=end {
                        c.line_to(xmap(i), ymap(series.values[i].expect("in a run")));
                    }
                    c.stroke();
                }
                for (i, v) in series.values.iter().enumerate() {
                    if let Some(v) = v {
                        p.fill_rect(xmap(i) - 1.8, ymap(*v) - 1.8, 3.6, 3.6, color);
                    }
                }
            }
        }
    }
    p.line((x0, y0), (x1, y0), 0.8, MUTED);
    p.y = y0 - label_h;
    if legend_h > 0.0 {
        let mut x = x0;
        for (k, s) in chart.series.iter().enumerate() {
            p.fill_rect(x, p.y - 1.0, 10.0, 6.0, PALETTE[k % PALETTE.len()]);
            p.text(x + 14.0, p.y - 1.0, 7.5, false, INK, &s.name);
            x += 24.0 + text_width(&s.name, 7.5, false);
        }
        p.y -= legend_h;
    }
}

/// The maximal runs of consecutive `true`s, as inclusive index ranges.
fn runs(present: impl Iterator<Item = bool>) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut last = 0;
    for (i, here) in present.enumerate() {
        match (here, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i - 1));
                start = None;
            }
            _ => {}
        }
        last = i;
    }
    if let Some(s) = start {
        out.push((s, last));
    }
    out
}

fn draw_table(p: &mut Pages, table: &Table) {
    let (size, row_h, pad) = (8.0, 14.0, 5.0);
    let mut widths: Vec<f32> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            table
                .rows
                .iter()
                .map(|r| text_width(&r[i], size, false))
                .fold(text_width(&col.name, size, true), f32::max)
                + 2.0 * pad
        })
        .collect();
    let total: f32 = widths.iter().sum();
    // Stretch to the page, or shrink (cells may then crowd, never overflow the page).
    let scale = CONTENT_WIDTH / total.max(1.0);
    for w in &mut widths {
        *w *= scale;
    }
    let header = |p: &mut Pages| {
        p.y -= row_h;
        p.fill_rect(MARGIN, p.y - 4.0, CONTENT_WIDTH, row_h, (0.92, 0.93, 0.95));
        let mut x = MARGIN;
        for (col, w) in table.columns.iter().zip(&widths) {
            if col.numeric {
                p.text_right(x + w - pad, p.y, size, true, INK, &col.name);
            } else {
                p.text(x + pad, p.y, size, true, INK, &col.name);
            }
            x += w;
        }
    };
    p.room_for(row_h * 3.0 + 10.0);
    p.y -= 10.0;
    header(p);
    for row in &table.rows {
        if p.y - row_h < MARGIN + 10.0 {
            p.room_for(f32::MAX);
            header(p);
        }
        p.y -= row_h;
        let mut x = MARGIN;
        for ((cell, col), w) in row.iter().zip(&table.columns).zip(&widths) {
            if col.numeric {
                p.text_right(x + w - pad, p.y, size, false, INK, cell);
            } else {
                p.text(x + pad, p.y, size, false, INK, cell);
            }
            x += w;
        }
        p.line((MARGIN, p.y - 4.0), (WIDTH - MARGIN, p.y - 4.0), 0.3, RULE);
    }
    if table.rows.is_empty() {
        p.y -= row_h;
        p.text(
            MARGIN + pad,
            p.y,
            size,
            false,
            MUTED,
            "Nothing in this period.",
        );
    }
}

/// The pages, their footers, the fonts and the document information into one file.
fn write(doc: &Document, pages: Vec<Content>) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let (regular, bold, info) = (Ref::new(3), Ref::new(4), Ref::new(5));
    let (logo, logo_mask) = (Ref::new(6), Ref::new(7));
    let first_page = 8;
    let page_refs: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().copied())
        .count(pages.len() as i32);
    for (id, base) in [(regular, &b"Helvetica"[..]), (bold, &b"Helvetica-Bold"[..])] {
        pdf.type1_font(id)
            .base_font(Name(base))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    if let Some(image) = &doc.logo {
        write_image(&mut pdf, image, logo, logo_mask);
    }
    pdf.document_info(info)
        .title(TextStr(&doc.title))
        .subject(TextStr(&doc.subtitle))
        .producer(TextStr("LaneRunner"));
    let count = pages.len();
    for (i, content) in pages.into_iter().enumerate() {
        let mut footer = Pages {
            done: Vec::new(),
            page: content,
            y: 0.0,
        };
        footer.text(
            MARGIN,
            FOOTER_Y,
            7.5,
            false,
            MUTED,
            &format!("LaneRunner - {}", doc.title),
        );
        footer.text_right(
            WIDTH - MARGIN,
            FOOTER_Y,
            7.5,
            false,
            MUTED,
            &format!("Page {} of {count}", i + 1),
        );
        let page_id = page_refs[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
            .parent(tree)
            .contents(content_id);
        let mut resources = page.resources();
        resources.fonts().pair(REGULAR, regular).pair(BOLD, bold);
        if i == 0 && doc.logo.is_some() {
            resources.x_objects().pair(LOGO, logo);
        }
        resources.finish();
        page.finish();
        pdf.stream(content_id, &footer.page.finish());
    }
    pdf.finish()
}

fn write_image(pdf: &mut Pdf, image: &Image, id: Ref, mask_id: Ref) {
    let (w, h) = (image.width as i32, image.height as i32);
    match &image.data {
        ImageData::Jpeg { bytes, components } => {
            let mut x = pdf.image_xobject(id, bytes);
            x.filter(pdf_writer::Filter::DctDecode);
            x.width(w).height(h).bits_per_component(8);
            match components {
                1 => x.color_space().device_gray(),
                4 => x.color_space().device_cmyk(),
                _ => x.color_space().device_rgb(),
            };
        }
        ImageData::Rgb { rgb, alpha } => {
            let mut x = pdf.image_xobject(id, rgb);
            x.filter(pdf_writer::Filter::FlateDecode);
            x.width(w).height(h).bits_per_component(8);
            x.color_space().device_rgb();
            if alpha.is_some() {
                x.s_mask(mask_id);
            }
            x.finish();
            if let Some(alpha) = alpha {
                let mut m = pdf.image_xobject(mask_id, alpha);
                m.filter(pdf_writer::Filter::FlateDecode);
                m.width(w).height(h).bits_per_component(8);
                m.color_space().device_gray();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Section, Series};

    fn sample(rows: usize) -> Document {
        let mut table = Table::new(&[("Carrier", false), ("Loads", true)]);
        for i in 0..rows {
            table.push(vec![format!("carrier {i}"), i.to_string()]);
        }
        Document {
            title: "Carrier scorecard".into(),
            subtitle: "Caf\u{e9} (test) \u{2014} \u{4e2d}".into(),
            sections: vec![Section {
                heading: "Carriers".into(),
                blocks: vec![
                    Block::Figures(vec![("Loads".into(), "42".into())]),
                    Block::Chart(Chart {
                        kind: ChartKind::Line,
                        title: "Median".into(),
                        unit: Unit::Dollars,
                        labels: (1..=13).map(|m| format!("M{m}")).collect(),
                        series: vec![Series {
                            name: "median".into(),
                            values: (0..13)
                                .map(|i| (i % 4 != 1).then_some(2.0 + i as f64 / 10.0))
                                .collect(),
                        }],
                        band: Some(
                            (0..13)
                                .map(|i| (i % 4 != 1).then_some((1.8, 2.6)))
                                .collect(),
                        ),
                    }),
                    Block::Table(table),
                    Block::Note("Long note ".repeat(60)),
                ],
            }],
            data: Table::default(),
            logo: None,
        }
    }

    fn page_texts(bytes: &[u8]) -> Vec<String> {
        let doc = lopdf::Document::load_mem(bytes).expect("a PDF a reader opens");
        let pages = doc.get_pages();
        pages
            .keys()
            .map(|n| doc.extract_text(&[*n]).expect("text of the page"))
            .collect()
    }

    #[test]
    fn a_reader_opens_it_and_finds_the_words() {
        let texts = page_texts(&render(&sample(5)));
        assert_eq!(texts.len(), 1);
        for word in [
            "Carrier scorecard",
            "carrier 4",
            "$2.",
            "Page 1 of 1",
            "Caf",
        ] {
            assert!(
                texts[0].contains(word),
                "{word:?} missing from {:?}",
                texts[0]
            );
        }
    }

    #[test]
    fn long_tables_continue_on_numbered_pages_under_their_header() {
        let texts = page_texts(&render(&sample(120)));
        assert!(texts.len() >= 3, "{} pages", texts.len());
        let last = texts.last().unwrap();
        assert!(last.contains("carrier 119"));
        assert!(last.contains("Loads"), "the header repeats");
        assert!(last.contains(&format!("Page {} of {}", texts.len(), texts.len())));
    }

    #[test]
    fn cards_wrap_their_lines_and_a_logo_is_drawn_on_the_first_page() {
        let mut doc = sample(1);
        doc.sections[0].blocks = vec![Block::Cards(vec![
            Card {
                heading: "Broker".into(),
                lines: vec!["Acme Logistics".into(), "MC 123456".into()],
            },
            Card {
                heading: "Carrier".into(),
                lines: vec!["word ".repeat(40), "Last line".into()],
            },
            Card {
                heading: "Third card".into(),
                lines: vec![],
            },
        ])];
        let png = crate::image::tests::png(4, 2, png::ColorType::Rgba, &[200, 10, 10, 90]);
        doc.logo = Some(Image::decode(&png).unwrap());
        let bytes = render(&doc);
        let texts = page_texts(&bytes);
        for word in ["Acme Logistics", "MC 123456", "Last line", "Third card"] {
            assert!(
                texts[0].contains(word),
                "{word:?} missing from {:?}",
                texts[0]
            );
        }
        let pdf = lopdf::Document::load_mem(&bytes).unwrap();
        let first = *pdf.get_pages().values().next().unwrap();
        let (resources, _) = pdf.get_page_resources(first).unwrap();
        let xobjects = resources
            .unwrap()
            .get(b"XObject")
            .unwrap()
            .as_dict()
            .unwrap();
        let logo = pdf
            .get_object(xobjects.get(b"Im1").unwrap().as_reference().unwrap())
            .unwrap()
            .as_stream()
            .unwrap();
        assert_eq!(logo.dict.get(b"Width").unwrap().as_i64().unwrap(), 4);
        assert!(logo.dict.has(b"SMask"), "the alpha channel is kept");
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 100.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let t = ticks(1.83, 2.61);
        assert!(t[0] <= 1.83 && *t.last().unwrap() >= 2.61, "{t:?}");
        assert_eq!(
            runs([true, true, false, true].into_iter()),
            [(0, 1), (3, 3)]
        );
    }
}
