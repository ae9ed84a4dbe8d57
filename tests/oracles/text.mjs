// DuckDB expressions giving a column's values as the text tests/tools/pqgen and pqdump write:
// integers and decimals as DuckDB prints them, floats shortest, dates as days since 1970-01-01,
// times and timestamps as integers of their unit, bytes as upper-case hex, lists "[a, NULL]".
export const duckExpr = (c, type) => {
  switch (type) {
    case 'DATE': return `CAST(date_diff('day', DATE '1970-01-01', "${c}") AS VARCHAR)`;
    case 'TIME': return `CAST(epoch_us(DATE '1970-01-01' + "${c}") AS VARCHAR)`;
    case 'TIMESTAMP': case 'TIMESTAMP WITH TIME ZONE': return `CAST(epoch_us("${c}") AS VARCHAR)`;
    case 'TIMESTAMP_MS': return `CAST(epoch_ms("${c}") AS VARCHAR)`;
    case 'TIMESTAMP_NS': return `CAST(epoch_ns("${c}") AS VARCHAR)`;
    case 'BLOB': return `hex("${c}")`;
    default: return `CAST("${c}" AS VARCHAR)`;
  }
};
