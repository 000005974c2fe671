/** SQL views over the loaded data, created with the schema. */
export const VIEWS = `
CREATE VIEW IF NOT EXISTS quarantine_by_reason AS
  SELECT source, reason, count(*) AS records FROM quarantine GROUP BY source, reason;
`;
