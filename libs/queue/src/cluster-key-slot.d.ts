// Types for cluster-key-slot (https://github.com/Salakar/cluster-key-slot), the CRC16 hash-slot
// function ioredis uses to route commands on a Redis Cluster.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0…16383) of `key`, honouring a `{hash tag}`. */
  function keySlot(key: string | Buffer): number;
  export default keySlot;
}
