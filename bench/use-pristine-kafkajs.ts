/**
 * `node --import tsx --import ./bench/use-pristine-kafkajs.ts <entry>`: the process loads kafkajs
 * 2.2.4 as published (the `kafkajs-pristine` alias) wherever it imports `kafkajs`, so a benchmark can
 * run the same service with and without patches/kafkajs+2.2.4.patch in one run.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve: (specifier, context, nextResolve) => nextResolve(specifier === 'kafkajs' ? 'kafkajs-pristine' : specifier, context),
});
