/**
 * A small PNG decoder for tests that look at a rendered picture: 8-bit RGB or RGBA, not interlaced (what
 * rsvg-convert writes). Chunks are parsed, the IDAT data inflated with node:zlib and the five row filters undone.
 */
import * as zlib from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, row after row (RGB input gets alpha 255). */
  data: Uint8Array;
}

export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function decodePng(file: Buffer): Image {
  if (file.length < 8 || !file.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG (bad signature)');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  let sawHeader = false;
  let sawEnd = false;
  while (offset + 8 <= file.length && !sawEnd) {
    const length = file.readUInt32BE(offset);
    const type = file.toString('latin1', offset + 4, offset + 8);
    const body = file.subarray(offset + 8, offset + 8 + length);
    if (body.length !== length) throw new Error(`truncated ${type} chunk`);
    offset += 12 + length; // length, type, data, CRC
    switch (type) {
      case 'IHDR': {
        width = body.readUInt32BE(0);
        height = body.readUInt32BE(4);
        const bitDepth = body[8];
        const colorType = body[9];
        const interlace = body[12];
        if (bitDepth !== 8) throw new Error(`unsupported bit depth ${bitDepth}`);
        if (colorType === 2) channels = 3;
        else if (colorType === 6) channels = 4;
        else throw new Error(`unsupported colour type ${colorType} (only RGB and RGBA)`);
        if (interlace !== 0) throw new Error('interlaced PNGs are not supported');
        sawHeader = true;
        break;
      }
      case 'IDAT':
        idat.push(body);
        break;
      case 'IEND':
        sawEnd = true;
        break;
      default:
        break; // ancillary chunks (sRGB, gAMA, tEXt…) do not change the pixels we read
    }
  }
  if (!sawHeader) throw new Error('no IHDR chunk');
  if (idat.length === 0) throw new Error('no IDAT chunk');
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length < height * (stride + 1)) throw new Error(`IDAT holds ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    const prior = row - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[row + i - channels]! : 0; // left
      const b = y > 0 ? pixels[prior + i]! : 0; // above
      const c = y > 0 && i >= channels ? pixels[prior + i - channels]! : 0; // above left
      let predictor: number;
      switch (filter) {
        case 0:
          predictor = 0;
          break;
        case 1:
          predictor = a;
          break;
        case 2:
          predictor = b;
          break;
        case 3:
          predictor = (a + b) >> 1;
          break;
        case 4:
          predictor = paeth(a, b, c);
          break;
        default:
          throw new Error(`bad filter type ${filter} on row ${y}`);
      }
      pixels[row + i] = (line[i]! + predictor) & 0xff;
    }
  }
  if (channels === 4) return { width, height, data: new Uint8Array(pixels) };
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    data[p * 4] = pixels[p * 3]!;
    data[p * 4 + 1] = pixels[p * 3 + 1]!;
    data[p * 4 + 2] = pixels[p * 3 + 2]!;
    data[p * 4 + 3] = 255;
  }
  return { width, height, data };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

export function pixel(image: Image, x: number, y: number): Rgba {
  const i = (y * image.width + x) * 4;
  const d = image.data;
  return { r: d[i]!, g: d[i + 1]!, b: d[i + 2]!, a: d[i + 3]! };
}

/** '#1f77b4' → its channels. */
export function hexColor(hex: string): { r: number; g: number; b: number } {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  return { r: parseInt(m[1]!, 16), g: parseInt(m[2]!, 16), b: parseInt(m[3]!, 16) };
}

/** Whether a pixel (composited on white, if not opaque) is within `tolerance` of a colour in every channel. */
export function isNear(p: Rgba, color: { r: number; g: number; b: number }, tolerance: number): boolean {
  const over = (v: number): number => Math.round((v * p.a + 255 * (255 - p.a)) / 255);
  return (
    Math.abs(over(p.r) - color.r) <= tolerance &&
    Math.abs(over(p.g) - color.g) <= tolerance &&
    Math.abs(over(p.b) - color.b) <= tolerance
  );
}
