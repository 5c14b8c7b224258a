;; The layers analysis's inner loops for float16 members (extension/sharing/layerKernel.ts):
;; the sketch and the exact pairs, four halves at a time, decoded with
;; integer SIMD instead of a table, accumulated in float64. Compiled to dist/layerKernel.wasm by scripts/build.mjs.
(module
  (memory (export "memory") 1)
  ;; sketch_f16: for x in [0, len): v = half(bits[x]); out[x] += sign[x] * v; acc[0] += v; acc[1] += v*v
  (func (export "sketch_f16") (param $bits i32) (param $sign i32) (param $out i32) (param $len i32) (param $acc i32)
    (local $i i32) (local $n4 i32) (local $f v128) (local $lo v128) (local $hi v128)
    (local $s v128) (local $q v128) (local $sc f64) (local $qc f64) (local $v f64)
    (local.set $n4 (i32.and (local.get $len) (i32.const -4)))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $f (call $dec4 (i32.add (local.get $bits) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $f)))
        (local.set $hi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $f) (local.get $f))))
        (local.set $s (f64x2.add (local.get $s) (f64x2.add (local.get $lo) (local.get $hi))))
        (local.set $q (f64x2.add (local.get $q) (f64x2.add (f64x2.mul (local.get $lo) (local.get $lo)) (f64x2.mul (local.get $hi) (local.get $hi)))))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3)))
          (f64x2.add (v128.load (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))))
            (f64x2.mul (v128.load (i32.add (local.get $sign) (i32.shl (local.get $i) (i32.const 3)))) (local.get $lo))))
        (v128.store (i32.add (local.get $out) (i32.add (i32.shl (local.get $i) (i32.const 3)) (i32.const 16)))
          (f64x2.add (v128.load (i32.add (local.get $out) (i32.add (i32.shl (local.get $i) (i32.const 3)) (i32.const 16))))
            (f64x2.mul (v128.load (i32.add (local.get $sign) (i32.add (i32.shl (local.get $i) (i32.const 3)) (i32.const 16)))) (local.get $hi))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $loop)))
    (local.set $sc (f64.add (f64x2.extract_lane 0 (local.get $s)) (f64x2.extract_lane 1 (local.get $s))))
    (local.set $qc (f64.add (f64x2.extract_lane 0 (local.get $q)) (f64x2.extract_lane 1 (local.get $q))))
    ;; the tail, one at a time
    (block $tdone
      (loop $tail
        (br_if $tdone (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $v (call $half (i32.load16_u (i32.add (local.get $bits) (i32.shl (local.get $i) (i32.const 1))))))
        (local.set $sc (f64.add (local.get $sc) (local.get $v)))
        (local.set $qc (f64.add (local.get $qc) (f64.mul (local.get $v) (local.get $v))))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3)))
          (f64.add (f64.load (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))))
            (f64.mul (f64.load (i32.add (local.get $sign) (i32.shl (local.get $i) (i32.const 3)))) (local.get $v))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (f64.store (local.get $acc) (f64.add (f64.load (local.get $acc)) (local.get $sc)))
    (f64.store offset=8 (local.get $acc) (f64.add (f64.load offset=8 (local.get $acc)) (local.get $qc))))
  ;; four halves at $p as four f32s: normal and subnormal values by a shift and
  ;; a multiply by 2^112, infinities and NaNs by setting the exponent, the sign
  ;; bit moved up. Every half is exact in f32.
  (func $dec4 (param $p i32) (result v128)
    (local $h v128) (local $em v128)
    (local.set $h (i32x4.extend_low_i16x8_u (v128.load64_zero (local.get $p))))
    (local.set $em (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)))
    (v128.or
      (v128.bitselect
        (v128.or (i32x4.shl (local.get $em) (i32.const 13)) (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))
        (f32x4.mul (i32x4.shl (local.get $em) (i32.const 13)) (v128.const f32x4 0x1p112 0x1p112 0x1p112 0x1p112))
        (i32x4.ge_u (local.get $em) (v128.const i32x4 0x7c00 0x7c00 0x7c00 0x7c00)))
      (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))))
  ;; pairs_f16: out[0..6) += Σa, Σb, Σa², Σb², Σab, Σ(a−b)² over the halves at $a and $b
  (func (export "pairs_f16") (param $a i32) (param $b i32) (param $len i32) (param $out i32)
    (local $i i32) (local $n4 i32) (local $fa v128) (local $fb v128)
    (local $al v128) (local $ah v128) (local $bl v128) (local $bh v128) (local $dl v128) (local $dh v128)
    (local $sa v128) (local $sb v128) (local $qa v128) (local $qb v128) (local $ab v128) (local $dd v128)
    (local $x f64) (local $y f64) (local $t f64)
    (local $sa1 f64) (local $sb1 f64) (local $qa1 f64) (local $qb1 f64) (local $ab1 f64) (local $dd1 f64)
    (local.set $n4 (i32.and (local.get $len) (i32.const -4)))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $fa (call $dec4 (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $fb (call $dec4 (i32.add (local.get $b) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $al (f64x2.promote_low_f32x4 (local.get $fa)))
        (local.set $ah (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $fa) (local.get $fa))))
        (local.set $bl (f64x2.promote_low_f32x4 (local.get $fb)))
        (local.set $bh (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $fb) (local.get $fb))))
        (local.set $sa (f64x2.add (local.get $sa) (f64x2.add (local.get $al) (local.get $ah))))
        (local.set $sb (f64x2.add (local.get $sb) (f64x2.add (local.get $bl) (local.get $bh))))
        (local.set $qa (f64x2.add (local.get $qa) (f64x2.add (f64x2.mul (local.get $al) (local.get $al)) (f64x2.mul (local.get $ah) (local.get $ah)))))
        (local.set $qb (f64x2.add (local.get $qb) (f64x2.add (f64x2.mul (local.get $bl) (local.get $bl)) (f64x2.mul (local.get $bh) (local.get $bh)))))
        (local.set $ab (f64x2.add (local.get $ab) (f64x2.add (f64x2.mul (local.get $al) (local.get $bl)) (f64x2.mul (local.get $ah) (local.get $bh)))))
        (local.set $dl (f64x2.sub (local.get $al) (local.get $bl)))
        (local.set $dh (f64x2.sub (local.get $ah) (local.get $bh)))
        (local.set $dd (f64x2.add (local.get $dd) (f64x2.add (f64x2.mul (local.get $dl) (local.get $dl)) (f64x2.mul (local.get $dh) (local.get $dh)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $loop)))
    (block $tdone
      (loop $tail
        (br_if $tdone (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $x (call $half (i32.load16_u (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 1))))))
        (local.set $y (call $half (i32.load16_u (i32.add (local.get $b) (i32.shl (local.get $i) (i32.const 1))))))
        (local.set $t (f64.sub (local.get $x) (local.get $y)))
        (local.set $sa1 (f64.add (local.get $sa1) (local.get $x)))
        (local.set $sb1 (f64.add (local.get $sb1) (local.get $y)))
        (local.set $qa1 (f64.add (local.get $qa1) (f64.mul (local.get $x) (local.get $x))))
        (local.set $qb1 (f64.add (local.get $qb1) (f64.mul (local.get $y) (local.get $y))))
        (local.set $ab1 (f64.add (local.get $ab1) (f64.mul (local.get $x) (local.get $y))))
        (local.set $dd1 (f64.add (local.get $dd1) (f64.mul (local.get $t) (local.get $t))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (call $addTo (local.get $out) (local.get $sa) (local.get $sa1))
    (call $addTo (i32.add (local.get $out) (i32.const 8)) (local.get $sb) (local.get $sb1))
    (call $addTo (i32.add (local.get $out) (i32.const 16)) (local.get $qa) (local.get $qa1))
    (call $addTo (i32.add (local.get $out) (i32.const 24)) (local.get $qb) (local.get $qb1))
    (call $addTo (i32.add (local.get $out) (i32.const 32)) (local.get $ab) (local.get $ab1))
    (call $addTo (i32.add (local.get $out) (i32.const 40)) (local.get $dd) (local.get $dd1)))
  ;; *p += both lanes of v and the tail's scalar
  (func $addTo (param $p i32) (param $v v128) (param $tail f64)
    (f64.store (local.get $p)
      (f64.add (f64.load (local.get $p))
        (f64.add (f64.add (f64x2.extract_lane 0 (local.get $v)) (f64x2.extract_lane 1 (local.get $v))) (local.get $tail)))))
  ;; one half to f64, as the SIMD path does
  (func $half (param $h i32) (result f64)
    (local $em i32) (local $f f32)
    (local.set $em (i32.and (local.get $h) (i32.const 0x7fff)))
    (local.set $f
      (if (result f32) (i32.ge_u (local.get $em) (i32.const 0x7c00))
        (then (f32.reinterpret_i32 (i32.or (i32.shl (local.get $em) (i32.const 13)) (i32.const 0x7f800000))))
        (else (f32.mul (f32.reinterpret_i32 (i32.shl (local.get $em) (i32.const 13))) (f32.const 0x1p112)))))
    (f64.promote_f32 (f32.reinterpret_i32 (i32.or (i32.reinterpret_f32 (local.get $f)) (i32.shl (i32.and (local.get $h) (i32.const 0x8000)) (i32.const 16))))))
)
