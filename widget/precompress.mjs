// Writes NAME.br (brotli, quality 11) and NAME.gz (gzip -9) beside each file
// named on the command line, so that a server can send the smallest form a
// browser accepts without compressing on every request (`dachat serve`
// does, through tower-http's ServeDir). Run by `cargo xtask widget`.
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

for (const file of process.argv.slice(2)) {
  const bytes = readFileSync(file);
  writeFileSync(`${file}.br`, brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }));
  writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
}
