import { QueryRunner, TableColumnOptions } from 'typeorm';

/**
 * Column shapes that differ between PostgreSQL and the embedded SQLite default, so one migration
 * serves both drivers.
 */
export function columnTypes(queryRunner: QueryRunner) {
  const postgres = queryRunner.connection.driver.options.type === 'postgres';
  return {
    /** Auto-increment primary key; bigint where the driver has one. */
    id(big = false): TableColumnOptions {
      return {
        name: 'id',
        type: big && postgres ? 'bigint' : 'integer',
        isPrimary: true,
        isGenerated: true,
        generationStrategy: 'increment',
      };
    },
    timestamp(name: string, nullable = false): TableColumnOptions {
      return { name, type: postgres ? 'timestamptz' : 'datetime', isNullable: nullable };
    },
    bigint(name: string, nullable = false): TableColumnOptions {
      return { name, type: postgres ? 'bigint' : 'integer', isNullable: nullable };
    },
    foreignKey(name: string, referencedTableName: string) {
      return {
        columnNames: [name],
        referencedTableName,
        referencedColumnNames: ['id'],
        onDelete: 'CASCADE',
      };
    },
  };
}
