//! [`TestPattern`]: a moving picture as H.264 frames, so a demo or a test can push video with
//! no camera, no media file and no encoder library.
//!
//! Every frame is an IDR picture whose macroblocks are all `I_PCM`: the samples go into the
//! bitstream as they are, with no transform, prediction or entropy coding. That costs bandwidth
//! (384 bytes per 16×16 macroblock) and buys an encoder of a few dozen lines that every H.264
//! decoder accepts (Constrained Baseline profile, CAVLC).

/// A moving test pattern, one H.264 access unit (Annex B: SPS, PPS, IDR slice) per frame.
///
/// ```
/// use cloudflare_calls::peer::TestPattern;
///
/// let mut pattern = TestPattern::new(128, 96).unwrap();
/// let first = pattern.next_frame();
/// assert!(first.starts_with(&[0, 0, 0, 1, 0x67])); // an SPS opens every frame
/// assert_ne!(pattern.next_frame(), first); // and the picture moves
/// ```
#[derive(Clone, Debug)]
pub struct TestPattern {
    width_mbs: usize,
    height_mbs: usize,
    frame: u32,
}

/// Width or height of a [`TestPattern`] that is not a multiple of 16 in 16..=1920.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a test pattern is a multiple of 16 pixels in each direction, from 16 to 1920")]
pub struct PatternSizeError;

impl TestPattern {
    /// A pattern of `width` × `height` pixels, each a multiple of 16 (whole macroblocks).
    pub fn new(width: u32, height: u32) -> Result<Self, PatternSizeError> {
        let ok = |n: u32| n.is_multiple_of(16) && (16..=1920).contains(&n);
        if !ok(width) || !ok(height) {
            return Err(PatternSizeError);
        }
        Ok(Self {
            width_mbs: width as usize / 16,
            height_mbs: height as usize / 16,
            frame: 0,
        })
    }

    /// The picture's width in pixels.
    pub fn width(&self) -> u32 {
        self.width_mbs as u32 * 16
    }

    /// The picture's height in pixels.
    pub fn height(&self) -> u32 {
        self.height_mbs as u32 * 16
    }

    /// The next frame: a keyframe that a decoder can start from.
    pub fn next_frame(&mut self) -> Vec<u8> {
        let n = self.frame;
        self.frame = self.frame.wrapping_add(1);
        let mut out = Vec::with_capacity(64 + self.width_mbs * self.height_mbs * 390);
        nal(&mut out, 0x67, &self.sps());
        nal(&mut out, 0x68, &pps());
        nal(&mut out, 0x65, &self.idr_slice(n));
        out
    }

    /// The brightness (luma sample) of pixel (x, y) in frame `n` (0 is the first): a diagonal
    /// ramp that slides right by 4 pixels per frame. The frames carry it losslessly, so a
    /// receiver can check what it decoded against it.
    pub fn luma(n: u32, x: u32, y: u32) -> u8 {
        let (x, y) = (x as usize, y as usize);
        let phase = (x + y / 2 + 256 - (n as usize * 4) % 256) % 256;
        // Video range (16..=235) keeps every sample away from the zero bytes of start codes.
        16 + (phase * 219 / 255) as u8
    }

    fn sps(&self) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.bits(66, 8); // profile_idc: Baseline
        w.bits(0b1100_0000, 8); // constraint_set0 and 1: Constrained Baseline
        w.bits(31, 8); // level_idc 3.1
        w.ue(0); // seq_parameter_set_id
        w.ue(0); // log2_max_frame_num_minus4
        w.ue(2); // pic_order_cnt_type 2: output order is decoding order
        w.ue(0); // max_num_ref_frames: every frame is an IDR
        w.bit(false); // gaps_in_frame_num_value_allowed_flag
        w.ue(self.width_mbs as u32 - 1);
        w.ue(self.height_mbs as u32 - 1);
        w.bit(true); // frame_mbs_only_flag
        w.bit(true); // direct_8x8_inference_flag
        w.bit(false); // frame_cropping_flag
        w.bit(false); // vui_parameters_present_flag
        w.trailing()
    }

    fn idr_slice(&self, n: u32) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.ue(0); // first_mb_in_slice
        w.ue(7); // slice_type: I, and every slice of the picture is I
        w.ue(0); // pic_parameter_set_id
        w.bits(0, 4); // frame_num (log2_max_frame_num = 4)
        w.ue(n % 2); // idr_pic_id: consecutive IDR pictures must differ
        w.bit(false); // no_output_of_prior_pics_flag
        w.bit(false); // long_term_reference_flag
        w.se(0); // slice_qp_delta
        for mb_y in 0..self.height_mbs {
            for mb_x in 0..self.width_mbs {
                w.ue(25); // mb_type I_PCM
                w.align_zero();
                for y in 0..16 {
                    for x in 0..16 {
                        let (x, y) = ((mb_x * 16 + x) as u32, (mb_y * 16 + y) as u32);
                        w.byte(Self::luma(n, x, y));
                    }
                }
                // Chroma (Cb, then Cr, 8×8 each): a colour per macroblock column that drifts.
                let cb = 64 + ((mb_x * 24 + n as usize * 2) % 128) as u8;
                let cr = 192 - ((mb_y * 24 + n as usize) % 128) as u8;
                for value in [cb, cr] {
                    for _ in 0..64 {
                        w.byte(value);
                    }
                }
            }
        }
        w.trailing()
    }
}

fn pps() -> Vec<u8> {
    let mut w = BitWriter::default();
    w.ue(0); // pic_parameter_set_id
    w.ue(0); // seq_parameter_set_id
    w.bit(false); // entropy_coding_mode_flag: CAVLC
    w.bit(false); // bottom_field_pic_order_in_frame_present_flag
    w.ue(0); // num_slice_groups_minus1
    w.ue(0); // num_ref_idx_l0_default_active_minus1
    w.ue(0); // num_ref_idx_l1_default_active_minus1
    w.bit(false); // weighted_pred_flag
    w.bits(0, 2); // weighted_bipred_idc
    w.se(0); // pic_init_qp_minus26
    w.se(0); // pic_init_qs_minus26
    w.se(0); // chroma_qp_index_offset
    w.bit(false); // deblocking_filter_control_present_flag
    w.bit(false); // constrained_intra_pred_flag
    w.bit(false); // redundant_pic_cnt_present_flag
    w.trailing()
}

/// Appends one NAL unit with its start code, escaping the payload so that no start code
/// appears inside it (emulation prevention).
fn nal(out: &mut Vec<u8>, header: u8, rbsp: &[u8]) {
    out.extend_from_slice(&[0, 0, 0, 1, header]);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
}

/// Most-significant-bit-first writer of the syntax elements above.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    /// Bits used in the last byte; 0 when it is full (or there is none).
    used: u8,
}

impl BitWriter {
    fn bit(&mut self, one: bool) {
        if self.used == 0 {
            self.bytes.push(0);
        }
        if one {
            *self.bytes.last_mut().expect("pushed above") |= 0x80 >> self.used;
        }
        self.used = (self.used + 1) % 8;
    }

    fn bits(&mut self, value: u32, count: u32) {
        for i in (0..count).rev() {
            self.bit(value >> i & 1 == 1);
        }
    }

    /// Exp-Golomb code of an unsigned value.
    fn ue(&mut self, value: u32) {
        let coded = value + 1;
        let len = 32 - coded.leading_zeros();
        self.bits(0, len - 1);
        self.bits(coded, len);
    }

    /// Exp-Golomb code of a signed value.
    fn se(&mut self, value: i32) {
        let mapped = if value > 0 {
            2 * value as u32 - 1
        } else {
            2 * value.unsigned_abs()
        };
        self.ue(mapped);
    }

    fn align_zero(&mut self) {
        self.used = 0;
    }

    fn byte(&mut self, value: u8) {
        debug_assert_eq!(self.used, 0, "samples start on a byte boundary");
        self.bytes.push(value);
    }

    /// `rbsp_trailing_bits`: a stop bit, then zeros to the byte boundary.
    fn trailing(mut self) -> Vec<u8> {
        self.bit(true);
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_codes_match_the_standard_table() {
        let mut w = BitWriter::default();
        for v in [0, 1, 2, 3, 25] {
            w.ue(v);
        }
        w.se(-1);
        let bits: String = w.bytes.iter().map(|b| format!("{b:08b}")).collect();
        assert_eq!(
            &bits[..24],
            ["1", "010", "011", "00100", "000011010", "011"].concat()
        );
    }

    #[test]
    fn frames_are_sps_pps_idr_with_every_sample_and_no_start_code_inside() {
        let mut p = TestPattern::new(48, 32).unwrap();
        let frame = p.next_frame();
        let starts: Vec<usize> = frame
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == [0, 0, 0, 1])
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            starts.len(),
            3,
            "three NAL units and no start code inside one"
        );
        let types: Vec<u8> = starts.iter().map(|&i| frame[i + 4] & 0x1f).collect();
        assert_eq!(types, [7, 8, 5]);
        let samples = 3 * 2 * 384;
        assert!(frame.len() > samples && frame.len() < samples + 64);
        let three_byte = frame.windows(3).filter(|w| *w == [0, 0, 1]).count();
        assert_eq!(three_byte, 3, "only the start codes themselves");
    }

    #[test]
    fn sizes_must_be_whole_macroblocks() {
        assert_eq!(TestPattern::new(100, 96).unwrap_err(), PatternSizeError);
        assert!(TestPattern::new(0, 16).is_err());
        assert_eq!(TestPattern::new(160, 128).unwrap().height(), 128);
    }
}
