export * from './errors';
export * from './trigger';
export * from './subscription';
export * from './registration';
export * from './change-event';
export * from './push-message';
export * from './delivery-outcome';
export * from './retry-policy';
