export { defaultWorkers, type ParallelOptions } from './orderedChunks.js';
export { openCriteoBlocks, openCriteoParallel, type CriteoBlock, type CriteoBlockReader } from './criteo.js';
export { openCsvBlocks, openCsvParallel, type CsvBlock, type CsvBlockReader, type ParallelCsvOptions } from './csv.js';
export { openSvmlightParallel } from './svmlight.js';
