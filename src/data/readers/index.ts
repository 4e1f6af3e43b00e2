export { DataFormatError } from './errors.js';
export { LineSource, type LineBatch, type LineSourceOptions } from './lineSource.js';
export { type BadLinePolicy, type ReaderOptions, type ReaderStats, type RecordReader } from './reader.js';
export { openCriteo, parseCriteoLine, CRITEO_COLUMNS, CRITEO_COLUMN_NAMES, type CriteoRow } from './criteo.js';
export { openCsv, splitCsvRecord, type CsvOptions, type CsvReader, type CsvColumnType } from './csv.js';
export { openIpinyou, readFeatIndex, parseIpinyouLine, type FeatIndex, type IpinyouRow } from './ipinyou.js';
export { openSvmlight, parseSvmlightLine, qidGroupOffsets, type SvmlightRow } from './svmlight.js';
