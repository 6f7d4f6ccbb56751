/** The domain contract in one import: topics, consumer groups, the schema catalog and its types. */
export * from './schemas.js';
export * from './topics.js';
