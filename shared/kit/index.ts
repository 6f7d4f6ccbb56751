/** The service kit: one way to wire a service (see consumer-service.ts). */
export { BackgroundConsumer } from './background-consumer.js';
export { runConsumerService, type ConsumerServiceDefinition, type RuntimeTuning, type ServiceDatabase } from './consumer-service.js';
export { runWorkerService, type WorkerServiceDefinition } from './worker-service.js';
export { ServiceDefinitionError, serviceParts, type Effects, type ServiceParts } from './service-parts.js';
export { openDatabase, type Database, type DatabaseOptions } from './database.js';
export { DUPLICATE, handleOnceFor, type Duplicate, type HandleOnce } from './handle-once.js';
export { serveHttp, type ServeHttpOptions } from './serve-http.js';
export { consumerServiceVariables, outboxServiceVariables, outboxVariables, serviceVariables, type KitConfig } from './variables.js';
export { startExtraConsumer, type ExtraConsumerOptions } from './extra-consumer.js';
