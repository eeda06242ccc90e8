/**
 * The trainer ({@code farm trainer}): a worker of the train pool whose tasks are ControlNet training
 * jobs. The worker around it (share group, lock renewal, cancel, drain, fencing, heartbeats, events)
 * is the render worker's; what it does with a task is here: fetch the data set, train on libtorch,
 * keep each checkpoint in S3, publish the ControlNet.
 */
package dev.cnfarm.cli.trainer;
