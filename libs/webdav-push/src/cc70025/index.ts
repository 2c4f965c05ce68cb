export * from './subscribe.parser';
export * from './properties.builder';
export * from './invalid-topics.builder';
