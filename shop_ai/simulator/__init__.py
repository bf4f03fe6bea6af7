"""The store simulator (DESIGN §6): a shop whose shoppers' true personas are known."""

from shop_ai.simulator.store import SimulationConfig, SimulationResult, StoreSimulation, simulate_store

__all__ = ["SimulationConfig", "SimulationResult", "StoreSimulation", "simulate_store"]
