/** The service kit: one way to wire a service (see consumer-service.ts). */
export { BackgroundConsumer } from './background-consumer.js';
export { runConsumerService, ServiceDefinitionError, type ConsumerServiceDefinition, type Effects, type RuntimeTuning, type ServiceDatabase, type ServiceParts } from './consumer-service.js';
export { openDatabase, type Database, type DatabaseOptions } from './database.js';
export { DUPLICATE, handleOnceFor, type Duplicate, type HandleOnce } from './handle-once.js';
export { serveHttp, type ServeHttpOptions } from './serve-http.js';
export { consumerServiceVariables, outboxServiceVariables, outboxVariables, serviceVariables, type KitConfig } from './variables.js';
