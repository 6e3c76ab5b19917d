/**
 * pier's tar library: a streaming reader and writer (ustar, pax, GNU long names) and a safe
 * extractor for hostile archives (image layers, `docker cp` uploads). No npm dependency: the
 * extractor is a security boundary and we keep it small enough to read.
 *
 * ```ts
 * const stats = await extractTar(readTar(maybeDecompress(layerStream)), upperDir, { whiteouts: 'overlay' });
 * const layer = packDirectory(upperDir, { overlayWhiteouts: true });
 * ```
 */
export { looksLikeTar, type TarEntryType, type TarHeader } from './header.js';
export { readTar, type TarEntry, type TarSource, type ReadTarOptions } from './tar-reader.js';
export { maybeDecompress, detectCompression, type Compression } from './decompress.js';
export { TarWriter, packTar, tarChunks, type TarWriterEntry } from './tar-writer.js';
export { packDirectory, walkDirectory, type PackDirectoryOptions } from './pack-directory.js';
export { extractTar, isAllowedXattr, type ExtractOptions, type ExtractStats } from './extract-tar.js';
export { unpackInWorker, unpackBlobInWorker, type UnpackJob, type UnpackResult, type BlobFetch, type FetchSpec, type FetchVerdict } from './unpack-in-worker.js';
export { TarSplitRecorder, rebuildTar, decodeTarSplit, encodeTarSplit, type TarSplitSink, type TarSplitRecord } from './tar-split.js';
