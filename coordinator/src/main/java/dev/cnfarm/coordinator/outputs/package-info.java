/**
 * What the coordinator does to the objects workers write: removing the images of attempts whose
 * outcome the scheduler fenced off, so that a job's output folder holds exactly its recorded results.
 */
package dev.cnfarm.coordinator.outputs;
