//! A logo for a document's letterhead: a JPEG goes into the PDF as it is (readers decode
//! DCT themselves); a PNG is decoded to pixels and deflated again, its alpha channel as a
//! soft mask. Anything else, or an image too large to be a logo, is refused here so a
//! template never holds a logo its documents cannot draw.

/// The largest logo accepted, in pixels along either side.
pub const MAX_SIDE: u32 = 2048;

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub data: ImageData,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImageData {
    /// The JPEG file itself (`DCTDecode`), with its colour components (1 grey, 3 RGB, 4 CMYK).
    Jpeg { bytes: Vec<u8>, components: u8 },
    /// zlib-deflated 8-bit RGB, and the deflated 8-bit alpha when the PNG had any.
    Rgb {
        rgb: Vec<u8>,
        alpha: Option<Vec<u8>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    NotAnImage,
    Unreadable(String),
    TooLarge { width: u32, height: u32 },
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageError::NotAnImage => write!(f, "a logo must be a PNG or JPEG image"),
            ImageError::Unreadable(why) => write!(f, "the image cannot be read: {why}"),
            ImageError::TooLarge { width, height } => write!(
                f,
                "the image is {width}x{height} pixels; a logo may be at most {MAX_SIDE} on either side"
            ),
        }
    }
}

impl std::error::Error for ImageError {}

impl Image {
    /// Reads a PNG or JPEG, by its content.
    pub fn decode(bytes: &[u8]) -> Result<Image, ImageError> {
        let image = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            decode_png(bytes)?
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            decode_jpeg(bytes)?
        } else {
            return Err(ImageError::NotAnImage);
        };
        if image.width == 0 || image.height == 0 {
            return Err(ImageError::Unreadable("it has no pixels".into()));
        }
        Ok(image)
    }
}

fn check_size(width: u32, height: u32) -> Result<(), ImageError> {
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ImageError::TooLarge { width, height });
    }
    Ok(())
}

fn decode_png(bytes: &[u8]) -> Result<Image, ImageError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    // Palettes and low bit depths expanded, 16-bit samples cut to 8: always 8-bit samples.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    let (width, height) = (reader.info().width, reader.info().height);
    // Checked before the pixel buffer is allocated: a tiny file may claim a vast image.
    check_size(width, height)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    let pixels = &buf[..frame.buffer_size()];
    let n = (width * height) as usize;
    let (mut rgb, mut alpha) = (Vec::with_capacity(n * 3), Vec::with_capacity(n));
    match frame.color_type {
        png::ColorType::Rgb => rgb.extend_from_slice(pixels),
        png::ColorType::Rgba => {
            for px in pixels.chunks_exact(4) {
                rgb.extend_from_slice(&px[..3]);
                alpha.push(px[3]);
            }
        }
        png::ColorType::Grayscale => pixels.iter().for_each(|g| rgb.extend([*g; 3])),
        png::ColorType::GrayscaleAlpha => {
            for px in pixels.chunks_exact(2) {
                rgb.extend([px[0]; 3]);
                alpha.push(px[1]);
            }
        }
        png::ColorType::Indexed => {
            return Err(ImageError::Unreadable(
                "a palette image was not expanded".into(),
            ))
        }
    }
    let deflate = |raw: &[u8]| miniz_oxide::deflate::compress_to_vec_zlib(raw, 6);
    let alpha = (!alpha.is_empty() && alpha.iter().any(|a| *a != 255)).then(|| deflate(&alpha));
    Ok(Image {
        width,
        height,
        data: ImageData::Rgb {
            rgb: deflate(&rgb),
            alpha,
        },
    })
}

/// A JPEG's size and components, from its first start-of-frame marker.
fn decode_jpeg(bytes: &[u8]) -> Result<Image, ImageError> {
    let truncated = || ImageError::Unreadable("the JPEG ends before its frame header".into());
    let mut i = 2;
    loop {
        // Markers may be padded with any number of 0xff bytes.
        while bytes.get(i) == Some(&0xff) {
            i += 1;
        }
        let marker = *bytes.get(i).ok_or_else(truncated)?;
        i += 1;
        if (0xd0..=0xd9).contains(&marker) || marker == 0x01 {
            continue; // markers without a length
        }
        let len = u16::from_be_bytes([
            *bytes.get(i).ok_or_else(truncated)?,
            *bytes.get(i + 1).ok_or_else(truncated)?,
        ]) as usize;
        // SOF0–SOF15, except DHT (c4), JPG (c8) and DAC (cc), carry the frame's size.
        if (0xc0..=0xcf).contains(&marker) && ![0xc4, 0xc8, 0xcc].contains(&marker) {
            let f = bytes.get(i + 2..i + 8).ok_or_else(truncated)?;
            let height = u32::from(u16::from_be_bytes([f[1], f[2]]));
            let width = u32::from(u16::from_be_bytes([f[3], f[4]]));
            let components = f[5];
            if ![1, 3, 4].contains(&components) {
                return Err(ImageError::Unreadable(format!(
                    "a JPEG of {components} colour components"
                )));
            }
            check_size(width, height)?;
            return Ok(Image {
                width,
                height,
                data: ImageData::Jpeg {
                    bytes: bytes.to_vec(),
                    components,
                },
            });
        }
        if len < 2 {
            return Err(ImageError::Unreadable("a JPEG segment of no length".into()));
        }
        i += len;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn png(width: u32, height: u32, color: png::ColorType, pixel: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(color);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().unwrap();
        let data: Vec<u8> = pixel
            .iter()
            .copied()
            .cycle()
            .take(pixel.len() * (width * height) as usize)
            .collect();
        w.write_image_data(&data).unwrap();
        drop(w);
        out
    }

    #[test]
    fn a_png_with_transparency_keeps_its_alpha_and_an_opaque_one_has_none() {
        let img = Image::decode(&png(3, 2, png::ColorType::Rgba, &[10, 20, 30, 128])).unwrap();
        assert_eq!((img.width, img.height), (3, 2));
        let ImageData::Rgb { rgb, alpha } = img.data else {
            panic!("decoded")
        };
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&rgb).unwrap();
        assert_eq!(raw, [10, 20, 30].repeat(6));
        assert!(alpha.is_some());
        let opaque = Image::decode(&png(2, 2, png::ColorType::Rgba, &[1, 2, 3, 255])).unwrap();
        assert!(matches!(opaque.data, ImageData::Rgb { alpha: None, .. }));
        let grey = Image::decode(&png(1, 1, png::ColorType::Grayscale, &[7])).unwrap();
        let ImageData::Rgb { rgb, .. } = grey.data else {
            panic!()
        };
        assert_eq!(
            miniz_oxide::inflate::decompress_to_vec_zlib(&rgb).unwrap(),
            [7, 7, 7]
        );
    }

    #[test]
    fn a_jpeg_is_read_from_its_frame_header() {
        // SOI, an APP0 segment, SOF0 of 40x30 with 3 components, EOI.
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0xaa, 0xbb];
        jpeg.extend([0xff, 0xc0, 0x00, 0x11, 8, 0, 30, 0, 40, 3]);
        jpeg.extend([0; 9]);
        jpeg.extend([0xff, 0xd9]);
        let img = Image::decode(&jpeg).unwrap();
        assert_eq!((img.width, img.height), (40, 30));
        assert!(matches!(img.data, ImageData::Jpeg { components: 3, .. }));
        assert!(matches!(
            Image::decode(&jpeg[..12]),
            Err(ImageError::Unreadable(_))
        ));
    }

    #[test]
    fn other_files_and_huge_images_are_refused() {
        assert_eq!(Image::decode(b"%PDF-1.7"), Err(ImageError::NotAnImage));
        assert_eq!(Image::decode(b""), Err(ImageError::NotAnImage));
        assert!(matches!(
            Image::decode(&png(MAX_SIDE + 1, 1, png::ColorType::Grayscale, &[0])),
            Err(ImageError::TooLarge { .. })
        ));
        let mut broken = png(4, 4, png::ColorType::Rgb, &[1, 2, 3]);
        broken.truncate(40);
        assert!(matches!(
            Image::decode(&broken),
            Err(ImageError::Unreadable(_))
        ));
    }
}
