import { FindOperator, Raw } from 'typeorm';

/** GitLab matches full paths case-insensitively (`Acme/Team` finds `acme/team`). */
export function fullPathIs(fullPath: string): FindOperator<string> {
  return Raw((column) => `LOWER(${column}) = LOWER(:fullPath)`, { fullPath });
}
